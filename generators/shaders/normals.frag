#version 330 core
// curator's label pass: replaces pyrender's flat.frag (same inputs, from flat.vert).
// rgb = camera-frame unit normal encoded as n * 0.5 + 0.5 (the uint8 framebuffer stores
//       round(127.5 n + 127.5)); a = 1 on labelled objects, 0 elsewhere, so the 4x MSAA
//       resolve gives their anti-aliased coverage (the soft matte).
// The background clears to (0.5, 0.5, 0.5, 0): a zero normal, so edge pixels blend an
// object's normal with nothing and renormalise back to it.

struct Material {
    vec3 emissive_factor;
    vec4 base_color_factor;
    float metallic_factor;
    float roughness_factor;
};

uniform Material material;
uniform mat4 V;

in vec3 frag_position;
#ifdef NORMAL_LOC
in vec3 frag_normal;
#endif

out vec4 frag_color;

void main()
{
#ifdef NORMAL_LOC
    vec3 n = normalize(mat3(V) * normalize(frag_normal));
#else
    vec3 n = vec3(0.0);
#endif
    frag_color = vec4(n * 0.5 + 0.5, material.base_color_factor.a);
}

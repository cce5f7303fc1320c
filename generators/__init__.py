"""Synthetic data generators (pyrender scenes, augmentation).

Depends on curator.schema and curator.store only.
"""

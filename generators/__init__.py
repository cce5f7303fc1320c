"""Synthetic data generators (pyrender scenes, augmentation); depends on curator.schema/store only."""

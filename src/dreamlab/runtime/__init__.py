"""Infrastructure shared by every algorithm: files, manifest, devices, logging."""

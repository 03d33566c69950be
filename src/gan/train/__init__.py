"""GAN training: the one loop; losses, penalties and augmentations (a registry each); a
run's state and files."""

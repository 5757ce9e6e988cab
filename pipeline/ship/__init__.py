"""Shipping what the build makes: bake files, the registry, publish, releases, deploy targets."""

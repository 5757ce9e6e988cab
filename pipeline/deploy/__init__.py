"""Deploy targets: the Docker host (proxy + release containers) and the user's command."""

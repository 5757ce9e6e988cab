"""Deploy targets: the Docker host (proxy + release containers), health checks, the user's command."""

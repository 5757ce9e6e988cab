# Images of the bundled example (examples/inventory). Slipway reads this file to
# build, tag and push them; `docker buildx bake` reads it too where buildx exists.

variable "GIT_SHA" {
  default = "dev"
}

variable "REGISTRY" {
  default = "localhost:5000"
}

group "default" {
  targets = ["backend", "frontend"]
}

target "test-base" {
  context    = "."
  dockerfile = "Dockerfile.test"
  tags       = ["${REGISTRY}/inventory-test-base:${GIT_SHA}"]
  cache-from = ["type=registry,ref=${REGISTRY}/inventory-test-base:buildcache"]
  cache-to   = ["type=registry,ref=${REGISTRY}/inventory-test-base:buildcache,mode=max"]
}

target "backend" {
  context    = "examples/inventory/backend"
  dockerfile = "Dockerfile"
  target     = "runtime"
  tags       = ["${REGISTRY}/inventory-backend:${GIT_SHA}"]
  labels = {
    "org.opencontainers.image.revision" = "${GIT_SHA}"
    "org.opencontainers.image.source"   = "examples/inventory/backend"
  }
  cache-from = ["type=registry,ref=${REGISTRY}/inventory-backend:buildcache"]
  cache-to   = ["type=registry,ref=${REGISTRY}/inventory-backend:buildcache,mode=max"]
}

target "frontend" {
  context    = "examples/inventory/frontend"
  dockerfile = "Dockerfile"
  target     = "runtime"
  tags       = ["${REGISTRY}/inventory-frontend:${GIT_SHA}"]
  labels = {
    "org.opencontainers.image.revision" = "${GIT_SHA}"
    "org.opencontainers.image.source"   = "examples/inventory/frontend"
  }
  cache-from = ["type=registry,ref=${REGISTRY}/inventory-frontend:buildcache"]
  cache-to   = ["type=registry,ref=${REGISTRY}/inventory-frontend:buildcache,mode=max"]
}

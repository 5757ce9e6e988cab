#!/bin/sh
# Upstream's entrypoint (toolchains/engine-dev/config.go) with tini at Debian's path, plus
# Slipway's forwarders: inside this container 127.0.0.1 is the engine, so a registry the
# runner serves on its loopback (localhost:5000) is forwarded to the address the runner
# exposes it on for containers (SLIPWAY_FORWARD="5000=172.17.0.1:5000 ..."). Pushes and
# pulls of localhost:PORT then mean the same registry on both of Slipway's engines.
set -e
# cgroup v2: enable nesting (see moby's hack/dind)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	mkdir -p /sys/fs/cgroup/init
	xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
	sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers \
		> /sys/fs/cgroup/cgroup.subtree_control
fi
for pair in ${SLIPWAY_FORWARD:-}; do
	port=${pair%%=*}
	target=${pair#*=}
	socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:$target" &
done
# expect more open files due to per-client SQLite databases
ulimit -n 1048576 || echo "cannot increase open FDs with ulimit, ignoring"
exec /usr/bin/tini -- /usr/local/bin/dagger-engine --config /etc/dagger/engine.toml "$@"

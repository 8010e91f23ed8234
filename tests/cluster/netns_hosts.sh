#!/bin/bash
# Emulate a small cluster of "hosts" on this one Linux machine (needs root).
#
#   netns_hosts.sh up DIR [N]      make hosts 1..N (N>=2, default 2)
#   netns_hosts.sh down DIR        undo everything `up` made (idempotent)
#   netns_hosts.sh exec DIR I CMD  run CMD inside host I
#   netns_hosts.sh kill DIR I      kill -9 every process inside host I: the host vanishes
#   netns_hosts.sh check           exit 0 if `up` can work here, else 77 (ctest skip)
#
# Host i = network namespace disco-<tag>-h<i> (eth0 = 192.0.2.<i>/24, lo up)
#        + a mount namespace persisted at DIR/mnt-h<i> with a private tmpfs on
#          /dev/shm (hosts must not share POSIX shm; the rest of the filesystem,
#          /tmp included, stays shared)
#        + a UTS namespace at DIR/uts-h<i>, hostname disco-<tag>-h<i>. Needed:
#          Open MPI names its session dirs /tmp/ompi.<hostname>.<uid>/..., and
#          two orteds with the same hostname on a shared /tmp clobber each
#          other's files (seen: orted segfaults in hwloc_shmem_topology_write).
# The hosts' eth0s are veth peers of ports p<i> on bridge br0 in a dedicated
# namespace disco-<tag>-sw, so nothing at all is added to the root namespace's
# network and interface names never clash between concurrent runs.
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }

# Tag: DIR's basename (sanitised, short) + hash of its absolute path, so two
# runs with different DIRs never clash and `down` can recompute it should
# DIR/state (which records it) be missing.
set_names() {
    dir=$(realpath -m -- "$1")
    local base hash
    base=$(basename -- "$dir" | sed 's/^disco-//' | tr -c 'A-Za-z0-9\n' '-' | cut -c1-12)
    hash=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
    tag=$base-$(printf '%06x' $((hash % 16777216)))
    tag=$(sed -n 's/^tag=//p' "$dir/state" 2>/dev/null | grep . || echo "$tag")
    pfx=disco-$tag
}

# Our network namespaces: `ip netns list` also prints "(id: N)" suffixes.
our_netns() { ip netns list 2>/dev/null | awk -v p="$pfx-" 'index($1, p) == 1 { print $1 }'; }

# Kill every process inside any of our namespaces (net, mnt or uts), or only
# host $1's: compare each /proc/PID/ns/{net,mnt,uts} link ("mnt:[INODE]") with
# our nsfs inodes.
kill_inside() {
    local f p ids=" " pids busy h=${1:-}
    local files=(/run/netns/"$pfx"-* "$dir"/mnt-h* "$dir"/uts-h*)
    [ -z "$h" ] || files=(/run/netns/"$pfx-h$h" "$dir/mnt-h$h" "$dir/uts-h$h")
    for f in "${files[@]}"; do
        if mountpoint -q "$f" 2>/dev/null; then ids+="$(stat -L -c %i "$f") "; fi
    done
    [ "$ids" != " " ] || return 0
    pids=$(find /proc/[0-9]*/ns -maxdepth 1 \( -name net -o -name mnt -o -name uts \) \
               -printf '%h %l\n' 2>/dev/null | awk -v ids="$ids" '{
               i = $2; gsub(/[^0-9]/, "", i); split($1, d, "/")
               if (index(ids, " " i " ")) print d[3] }' | sort -u) || true  # find: pids that ended meanwhile
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086  # word splitting of the pid list is intended
    kill -9 $pids 2>/dev/null || true
    for _ in $(seq 50); do   # up to 5 s for them to die (zombies are dead enough)
        busy=
        for p in $pids; do
            case $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1) in ''|Z|X) ;; *) busy=1 ;; esac
        done
        [ -n "$busy" ] || break
        sleep 0.1
    done
}

cmd_down() {
    set_names "$1"
    for _ in 1 2 3; do kill_inside; done   # again, in case something forked meanwhile
    local ns f
    for ns in $(our_netns); do ip netns del "$ns" 2>/dev/null || true; done
    for f in "$dir"/mnt-h* "$dir"/uts-h*; do
        umount "$f" 2>/dev/null || true
        rm -f -- "$f"
    done
    # DIR's self bind mount: `up` writes DIR/state just before making it.
    if [ -e "$dir/state" ] && mountpoint -q "$dir"; then
        umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
    fi
    rm -f -- "$dir/state"
    # Session dirs that Open MPI daemons killed above could not remove; the
    # hostnames in them are unique to this cluster.
    rm -rf -- "${TMPDIR:-/tmp}/ompi.$pfx"-h*
    rmdir -- "$dir" 2>/dev/null || true
}

# Run a step of `up`; on failure print a one-line reason, undo everything, exit 1.
step() {
    local what=$1 err rc=0; shift
    err=$("$@" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" != 0 ]; then
        (cmd_down "$dir") >/dev/null 2>&1 || true
        die "up: $what failed: $(printf '%s' "${err:-exit status $rc}" | head -n1)"
    fi
}

# Inside a fresh mount namespace: private /dev/shm, and drop the nsfs mounts
# copied from the parent (/run/netns/*, other runs' DIR/mnt-h*): a copy would
# keep those namespaces alive after their owner's `down`. An empty /run/netns
# then keeps `ip` from stumbling on the leftover empty files ("Peer netns
# reference is invalid").
# shellcheck disable=SC2016  # expanded by the inner sh
new_mntns_body='mount -t tmpfs -o nosuid,nodev,mode=1777 disco-shm /dev/shm &&
    for m in $(findmnt -rn -t nsfs -o TARGET); do umount -l "$m" 2>/dev/null || :; done &&
    if [ -d /run/netns ]; then mount -t tmpfs -o mode=755,size=64k disco-netns /run/netns; fi'

cmd_up() {
    local n=${2:-2} i h sw
    if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 2 ] || [ "$n" -gt 250 ]; then die "up: N must be 2..250"; fi
    set_names "$1"
    [ -z "$(our_netns)" ] || die "up: $pfx-* namespaces already exist (run down first)"
    mkdir -p -- "$dir"
    [ -z "$(ls -A -- "$dir")" ] || die "up: $dir is not empty"
    printf 'tag=%s\nn=%s\nouter=%s\n' "$tag" "$n" "$(stat -L -c %i /proc/self/ns/mnt)" >"$dir/state"
    # util-linux persists a namespace by bind-mounting its nsfs file; for a
    # mount namespace the target must sit on a private mount: the kernel refuses
    # to propagate mount-ns files (a copy inside the new namespace would be a
    # reference loop).
    step "bind-mount $dir" mount --bind "$dir" "$dir"
    step "make $dir private" mount --make-private "$dir"
    sw=$pfx-sw
    step "netns $sw" ip netns add "$sw"
    step "bridge" ip -n "$sw" link add br0 type bridge
    step "bridge up" ip -n "$sw" link set br0 up
    for i in $(seq "$n"); do
        h=$pfx-h$i
        step "netns $h" ip netns add "$h"
        step "lo up in $h" ip -n "$h" link set lo up
        step "veth for $h" ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$h"
        step "p$i on bridge" ip -n "$sw" link set "p$i" master br0 up
        # No IPv6 link-local on eth0: Open MPI would also try it, and DAD makes
        # it "tentative" for a while after up; IPv4 only keeps things simple.
        step "addrgenmode in $h" ip -n "$h" link set eth0 addrgenmode none
        step "address in $h" ip -n "$h" addr add "192.0.2.$i/24" dev eth0
        step "eth0 up in $h" ip -n "$h" link set eth0 up
        step "touch mnt-h$i" touch "$dir/mnt-h$i" "$dir/uts-h$i"
        step "mount+uts namespaces of $h" unshare --mount="$dir/mnt-h$i" --uts="$dir/uts-h$i" \
            --propagation private sh -c "hostname $h && $new_mntns_body"
    done
}

# Enter host I (net + mount + uts namespaces), keeping the current directory.
# The namespace files are only mounted in the "outer" mount namespace (the one
# `up` ran in): a mount-ns file can't be mounted in an older namespace nor
# propagate, so inside host 1 (e.g. Open MPI's agent, run by mpirun) DIR/mnt-h2
# is an empty file. So we open them through /proc/PID/root of any process
# still living in the outer namespace (when run from there: ourselves).
cmd_exec() {
    [ $# -ge 3 ] || die "usage: $prog exec DIR I CMD..."
    set_names "$1"
    local i=$2 ino p r=; shift 2
    ino=$(sed -n 's/^outer=//p' "$dir/state" 2>/dev/null) || true
    [ -n "$ino" ] || die "exec: no cluster in $dir"
    for p in $$ $(find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "mnt:?$ino?" 2>/dev/null | cut -d/ -f3); do
        if [ "$(readlink "/proc/$p/ns/mnt")" = "mnt:[$ino]" ]; then r=/proc/$p/root; break; fi
    done
    [ -n "$r" ] || die "exec: no process left in the mount namespace that ran up"
    if ! [ -e "$r/run/netns/$pfx-h$i" ] || ! [ -e "$r$dir/uts-h$i" ]; then die "exec: no host $i in $dir"; fi
    exec nsenter --net="$r/run/netns/$pfx-h$i" --mount="$r$dir/mnt-h$i" --uts="$r$dir/uts-h$i" \
        --wd="$PWD" -- "$@"
}

cmd_check() {
    local t c
    [ "$EUID" = 0 ] || { echo "$prog: not root"; exit 77; }
    for c in ip nsenter unshare mount umount findmnt mountpoint; do
        command -v "$c" >/dev/null || { echo "$prog: $c not found"; exit 77; }
    done
    # Really try: a throwaway 2-host cluster, and entering one of its hosts.
    t=$(mktemp -d) || { echo "$prog: mktemp failed"; exit 77; }
    if ! c=$("$0" up "$t/chk" 2 2>&1); then c=${c:-up failed}
    elif ! "$0" exec "$t/chk" 2 true 2>/dev/null; then c="$prog: nsenter into a host failed"
    else c=; fi
    "$0" down "$t/chk"
    rm -rf -- "$t"
    [ -z "$c" ] || { echo "$c" | head -n1; exit 77; }
}

case ${1:-} in
    up)    [ $# -ge 2 ] || die "usage: $prog up DIR [N]"; cmd_up "$2" "${3:-2}" ;;
    down)  [ $# -ge 2 ] || die "usage: $prog down DIR"; cmd_down "$2" 2>/dev/null || true ;;
    exec)  shift; cmd_exec "$@" ;;
    check) cmd_check ;;
    kill)  [ $# -ge 3 ] || die "usage: $prog kill DIR I"; set_names "$2"; kill_inside "$3" ;;
    *)     die "usage: $prog up DIR [N] | down DIR | exec DIR I CMD... | kill DIR I | check" ;;
esac

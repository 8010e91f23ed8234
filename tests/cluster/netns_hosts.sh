#!/bin/bash
# Emulate a small cluster of "hosts" on this one Linux machine (needs root).
#
#   netns_hosts.sh up DIR [N]      make hosts 1..N (N>=2, default 2)
#   netns_hosts.sh down DIR        undo everything `up` made (idempotent)
#   netns_hosts.sh exec DIR I CMD  run CMD inside host I
#   netns_hosts.sh check           exit 0 if `up` can work here, else 77 (ctest skip)
#
# Host i = network namespace disco-<tag>-h<i> (eth0 = 192.0.2.<i>/24, lo up)
#        + a mount namespace persisted at DIR/mnt-h<i> with a private tmpfs on
#          /dev/shm (hosts must not share POSIX shm; the rest of the filesystem,
#          /tmp included, stays shared).
# The hosts' eth0s are veth peers of ports p<i> on bridge br0 in a dedicated
# namespace disco-<tag>-sw, so nothing at all is added to the root namespace's
# network and interface names never clash between concurrent runs.
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }

# Tag: DIR's basename (sanitised, short) + hash of its absolute path, so two
# runs with different DIRs never clash and `down` can recompute it even when
# DIR/state is missing (half-made `up`).
set_names() {
    dir=$(realpath -m -- "$1")
    local base hash
    base=$(basename -- "$dir" | tr -c 'A-Za-z0-9\n' '-' | cut -c1-12)
    hash=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
    tag=$base-$(printf '%06x' $((hash % 16777216)))
    pfx=disco-$tag
}

# Our network namespaces: `ip netns list` also prints "(id: N)" suffixes.
our_netns() { ip netns list 2>/dev/null | awk -v p="$pfx-" 'index($1, p) == 1 { print $1 }'; }

# Kill every process inside one of our namespaces: by netns (ip netns pids) and
# by mount namespace (inode of /proc/PID/ns/mnt == inode of the nsfs file).
kill_inside() {
    local ns f ino p pids=()
    for ns in $(our_netns); do
        mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
    done
    for f in "$dir"/mnt-h*; do
        ino=$(stat -L -c %i "$f" 2>/dev/null) || continue
        for p in /proc/[0-9]*; do
            [ "$(stat -L -c %i "$p/ns/mnt" 2>/dev/null)" = "$ino" ] && pids+=("${p#/proc/}")
        done
    done
    [ "${#pids[@]}" -gt 0 ] || return 0
    kill -9 "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do   # up to 5 s for them to die (zombies don't count)
        kill -0 "${pids[@]}" 2>/dev/null || break
        for p in "${pids[@]}"; do
            [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" = Z ] || { sleep 0.1; continue 2; }
        done
        break
    done
}

cmd_down() {
    set_names "$1"
    kill_inside
    local ns f
    for ns in $(our_netns); do ip netns del "$ns" 2>/dev/null || true; done
    for f in "$dir"/mnt-h*; do
        umount "$f" 2>/dev/null || true
        rm -f -- "$f"
    done
    # Drop DIR's self bind mount(s) (only if DIR itself is a mount point).
    while mountpoint -q "$dir" 2>/dev/null && grep -q " $dir " /proc/self/mountinfo; do
        umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || break
    done
    rm -f -- "$dir/state"
    rmdir -- "$dir" 2>/dev/null || true
}

# Run a step of `up`; on failure print a one-line reason, undo everything, exit 1.
step() {
    local what=$1 err; shift
    if ! err=$("$@" 2>&1 >/dev/null); then
        (cmd_down "$dir") >/dev/null 2>&1 || true
        die "up: $what failed: $(printf '%s' "$err" | head -n1)"
    fi
}

# Inside a fresh mount namespace: private /dev/shm, and drop the nsfs mounts
# copied from the parent (/run/netns/*, other runs' DIR/mnt-h*): a copy would
# keep those namespaces alive after their owner's `down`.
new_mntns_body='mount -t tmpfs -o nosuid,nodev,mode=1777,size=1g disco-shm /dev/shm &&
    for m in $(findmnt -rn -t nsfs -o TARGET); do umount -l "$m" 2>/dev/null || :; done'

cmd_up() {
    local n=${2:-2} i h sw
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 250 ] || die "up: N must be 2..250"
    set_names "$1"
    [ -z "$(our_netns)" ] || die "up: $pfx-* namespaces already exist (run down first)"
    mkdir -p -- "$dir"
    [ -z "$(ls -A -- "$dir")" ] || die "up: $dir is not empty"
    printf 'tag=%s\nn=%s\n' "$tag" "$n" >"$dir/state"
    # util-linux persists a mount namespace by bind-mounting its nsfs file; the
    # target must sit on a private mount, or the bind would propagate into the
    # namespace itself (a reference loop the kernel refuses).
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
        step "address in $h" ip -n "$h" addr add "192.0.2.$i/24" dev eth0
        step "eth0 up in $h" ip -n "$h" link set eth0 up
        step "touch mnt-h$i" touch "$dir/mnt-h$i"
        step "mount namespace of $h" unshare --mount="$dir/mnt-h$i" --propagation private \
            sh -c "$new_mntns_body"
    done
}

# Enter host I (net + mount namespaces), keeping the current directory.
cmd_exec() {
    [ $# -ge 3 ] || die "usage: $prog exec DIR I CMD..."
    set_names "$1"
    local i=$2; shift 2
    [ -e "/run/netns/$pfx-h$i" ] && [ -e "$dir/mnt-h$i" ] || die "exec: no host $i in $dir"
    exec nsenter --net="/run/netns/$pfx-h$i" --mount="$dir/mnt-h$i" --wd="$PWD" -- "$@"
}

cmd_check() {
    local t c
    [ "$(id -u)" = 0 ] || { echo "$prog: not root"; exit 77; }
    for c in ip nsenter unshare mount umount findmnt mountpoint; do
        command -v "$c" >/dev/null || { echo "$prog: $c not found"; exit 77; }
    done
    t=$(mktemp -d) || { echo "$prog: mktemp failed"; exit 77; }
    if ! c=$("$0" up "$t/chk" 2 2>&1) || ! "$0" exec "$t/chk" 2 ip -n "$pfx" -V >/dev/null 2>&1 && false; then
        "$0" down "$t/chk" >/dev/null 2>&1 || true
        rm -rf -- "$t"
        echo "${c:-$prog: check failed}" | head -n1
        exit 77
    fi
    "$0" down "$t/chk"
    rm -rf -- "$t"
}

case ${1:-} in
    up)    [ $# -ge 2 ] || die "usage: $prog up DIR [N]"; cmd_up "$2" "${3:-2}" ;;
    down)  [ $# -ge 2 ] || die "usage: $prog down DIR"; cmd_down "$2" 2>/dev/null || true ;;
    exec)  shift; cmd_exec "$@" ;;
    check) cmd_check ;;
    *)     die "usage: $prog up DIR [N] | down DIR | exec DIR I CMD... | check" ;;
esac

#!/bin/bash
# ssh stand-in for Open MPI's rsh launcher, for the "hosts" of netns_hosts.sh:
#   mpirun --mca plm_rsh_agent /path/netns_agent.sh ...   (or OMPI_MCA_plm_rsh_agent)
# Open MPI runs it like ssh: `agent [ssh options] HOST WORD...` (4.1.4 passes no
# options to an agent not named ssh: `192.0.2.2 " orted" -mca ess "env" ...`);
# the words are one shell command line, already quoted for a remote shell, so
# like sshd we join them and run `sh -c` on them, inside host HOST (its net,
# mount and uts namespaces, via `netns_hosts.sh exec`).
# The cluster is found through $DISCO_NETNS_DIR (the DIR given to `up`), which
# mpirun's environment passes down to us. Unlike ssh, the whole environment
# is inherited (harmless for orted, handy for LD_LIBRARY_PATH in build trees).
set -euo pipefail

die() { echo "netns_agent.sh: $*" >&2; exit 255; }   # 255: what ssh uses
dir=${DISCO_NETNS_DIR:?netns_agent.sh: DISCO_NETNS_DIR is not set}

# Skip ssh-style options; those taking a value may have it attached or not.
while [ $# -gt 0 ]; do
    case $1 in
        --) shift; break ;;
        -[bcDEeFIiJLlmOopQRSWw]) shift $(($# > 1 ? 2 : 1)) ;;
        -*) shift ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || die "usage: netns_agent.sh [ssh options] HOST CMD..."
host=${1#*@}; shift                                   # drop any user@
pfx=disco-$(sed -n 's/^tag=//p' "$dir/state" 2>/dev/null || true)
case $host in                                          # HOST -> host index
    192.0.2.*) i=${host#192.0.2.} ;;
    h[0-9]*) i=${host#h} ;;
    "$pfx"-h[0-9]*) i=${host#"$pfx"-h} ;;
    *) die "unknown host '$host' (want 192.0.2.<i>, h<i> or $pfx-h<i>)" ;;
esac
[ $# -gt 0 ] || die "no command (interactive logins are not supported)"

# Start in $HOME like ssh. exec all the way down (netns_hosts.sh exec ends in
# `exec nsenter`, which execs sh): mpirun's child *is* the remote shell, in the
# "host", and dies with it.
cd "${HOME:-/}"
exec "$(dirname -- "$(realpath -- "$0")")/netns_hosts.sh" exec "$dir" "$i" sh -c "$*"

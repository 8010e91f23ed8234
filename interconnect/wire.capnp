# The wire encoding of the nodes' messages: the coherence protocol (Message, decoded into
# interconnect/message.h's Message by codec.h) and the launcher<->node control plane (Control,
# decoded by control.h). Each ZeroMQ frame carries exactly one of them, serialized flat.
#
# Evolution rules: never renumber or retype a field; add union members and enum values only at
# the end. A node that receives a discriminant or enum value it does not know drops the message
# (DropReason::UnknownKind) rather than guessing.

@0xa0648c442a588d07;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("disco::wire");

enum GrantState {
  shared @0;
  exclusive @1;
  modified @2;
}

enum NackReason {
  badLine @0;
  homeDown @1;
  stopping @2;
}

struct LineRequest {
  # GetS, GetX: a pcpu of node `src` asks the line's home for permission.
  line @0 :UInt64;
  pcpu @1 :UInt16;
  txn @2 :UInt32;
}

struct Put {
  # PutS, PutE, PutM: node `src` evicted its copy; the kind says which state it held.
  line @0 :UInt64;
  data @1 :Data;
  # Cluster data path: a PutM's line bytes. Empty on one host, where the bytes live in the home
  # segment; the decoder accepts only empty until Message grows a place for them.
}

struct Forward {
  # FwdGetS, FwdGetX: the home asks the owner to serve `requester`'s pcpu.
  line @0 :UInt64;
  requester @1 :UInt16;
  pcpu @2 :UInt16;
  txn @3 :UInt32;
  homeTxn @4 :UInt32;
}

struct Inv {
  line @0 :UInt64;
  homeTxn @1 :UInt32;
}

struct Grant {
  line @0 :UInt64;
  pcpu @1 :UInt16;
  txn @2 :UInt32;
  state @3 :GrantState;
  data @4 :Data;  # cluster data path, as Put.data
  invalidated @5 :UInt16;  # sharers the home invalidated for this grant (fan-out statistics)
}

struct Ack {
  # InvAck, FwdAck.
  line @0 :UInt64;
  homeTxn @1 :UInt32;
  dirty @2 :Bool;
  data @3 :Data;  # cluster data path (FwdAck of a dirty line), as Put.data
}

struct PutAck {
  line @0 :UInt64;
}

struct Nack {
  line @0 :UInt64;
  pcpu @1 :UInt16;
  txn @2 :UInt32;
  reason @3 :NackReason;
}

struct Ping {
  # Ping, Pong: transport benchmark. `pad` is zero filler so that a ping can be sized like a
  # protocol message; its length is the only thing that matters.
  seq @0 :UInt64;
  pcpu @1 :UInt16;
  pad @2 :Data;
}

# --- monitor messages: the replicated Disco monitors cooperate (monitor/monitor.h) -------------

struct PageAlloc {
  # A monitor asks another node's monitor for machine pages for one of its VMs.
  txn @0 :UInt32;
  pcpu @1 :UInt16;        # the asking pcpu: the grant goes to its port
  vm @2 :UInt32;
  guestPage @3 :UInt64;   # the first of the VM's guest pages they will back
  pages @4 :UInt64;
}

struct PageGrant {
  # The answer: one contiguous range of the granting node's memory (pages 0: none free).
  txn @0 :UInt32;
  pcpu @1 :UInt16;
  vm @2 :UInt32;
  guestPage @3 :UInt64;
  machine @4 :UInt64;     # machine address of the first page
  pages @5 :UInt64;
}

struct PageFree {
  # Pages a VM borrowed go back to their node's memmap.
  vm @0 :UInt32;
  machine @1 :UInt64;
  pages @2 :UInt64;
}

struct Shootdown {
  # TlbShootdown, ShootdownDone: drop every machine TLB entry that maps a machine page.
  txn @0 :UInt32;
  pcpu @1 :UInt16;        # the asking pcpu: the done goes to its port
  vm @2 :UInt32;
  machinePage @3 :UInt64; # machine address >> 12
}

struct VmExited {
  # A VM ended (VmExit's ordinal), told to every other monitor.
  vm @0 :UInt32;
  exit @1 :UInt8;
}

struct Message {
  src @0 :UInt16;
  union {
    getS @1 :LineRequest;
    getX @2 :LineRequest;
    putS @3 :Put;
    putE @4 :Put;
    putM @5 :Put;
    fwdGetS @6 :Forward;
    fwdGetX @7 :Forward;
    inv @8 :Inv;
    grant @9 :Grant;
    invAck @10 :Ack;
    fwdAck @11 :Ack;
    putAck @12 :PutAck;
    nack @13 :Nack;
    ping @14 :Ping;
    pong @15 :Ping;
    pageAlloc @16 :PageAlloc;
    pageGrant @17 :PageGrant;
    pageFree @18 :PageFree;
    tlbShootdown @19 :Shootdown;
    shootdownDone @20 :Shootdown;
    vmExited @21 :VmExited;
  }
}

# --- control plane: launcher <-> node -------------------------------------------------------

struct NodeEndpoints {
  # Where a node listens: one endpoint per port, in PortIndex order.
  node @0 :UInt16;
  pid @1 :UInt32;
  host @2 :Text;
  ports @3 :List(Text);
}

struct Control {
  union {
    hello @0 :NodeEndpoints;           # node -> launcher: I am up, here are my ports
    peerTable @1 :List(NodeEndpoints); # launcher -> nodes: everyone's ports
    ready @2 :UInt16;                  # node -> launcher: connected to the peer table
    start @3 :Void;                    # launcher -> nodes: run
    heartbeat :group {                 # node -> launcher: alive, and how far it got
      node @4 :UInt16;
      opsDone @5 :UInt64;
      virtualNs @6 :UInt64;
      vms @12 :UInt32;                 # the node's guests: VMs built,
      vmsUp @13 :UInt32;               #   that have run a user process,
      vmsEnded @14 :UInt32;            #   that have ended,
      guestInstructions @15 :UInt64;   #   and the instructions they executed
    }
    stats :group {                     # node -> launcher: the final stats tree
      node @7 :UInt16;
      json @8 :Text;
    }
    stop :group {                      # launcher -> nodes: finish now
      reason @9 :Text;
    }
    peerDown :group {                  # launcher -> nodes: a node died; fail its requests fast
      node @10 :UInt16;
      reason @11 :Text;
    }
    collect @16 :Void;                 # launcher -> nodes: read your home's counters (all pcpus are done)
    counters :group {                  # node -> launcher: its home's counters, read coherently
      node @17 :UInt16;
      values @18 :List(UInt64);
    }
  }
}

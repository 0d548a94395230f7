//! The workers of an AF_XDP run, per flow and layout: split (A's generator on one core, B's
//! receiver on another) or colocated (one thread per flow steps both on one core). Each opens its
//! sockets on its own thread, bound to its flow's queue, and registers B's with the program.

use bpf::Attached;
use model::{Layout, RunSpec, Side};
use setup::Endpoint;

use super::accounting::BOut;
use crate::engine::{now_ns, prime_fill, Drain, GenOutcome, GenPlan, Generator, Reflector, Sink};
use crate::error::{WorkerError, WorkerId};
use crate::harness::{Body, Ctl, Job};
use crate::progress::Progress;
use crate::workers::enter;
use crate::xsk::Xsk;

/// What one worker counted: A's generator, B's socket, or both (colocated).
pub struct Work {
    /// The generator's counts (A's and colocated workers).
    pub gen: Option<GenOutcome>,
    /// B's socket's counts (B's and colocated workers, modes with a B socket).
    pub b: Option<BOut>,
}

/// B's receiving side of a flow, as steps.
enum Receiver {
    Sink(Sink),
    Reflect(Reflector),
}

impl Receiver {
    #[inline]
    fn step(&mut self, progress: &Progress) -> usize {
        match self {
            Receiver::Sink(s) => s.step(progress),
            Receiver::Reflect(r) => r.step(),
        }
    }

    #[inline]
    fn busy(&self) -> bool {
        match self {
            Receiver::Sink(_) => false,
            Receiver::Reflect(r) => r.in_flight(),
        }
    }

    /// Polls until the ring has stayed empty a while.
    fn drain(&mut self, progress: &Progress) {
        let mut drain = Drain::default();
        loop {
            let n = self.step(progress);
            if drain.done(n, self.busy(), true) {
                break;
            }
        }
    }

    fn finish(self) -> BOut {
        match self {
            Receiver::Sink(s) => BOut::Sink(s.finish()),
            Receiver::Reflect(r) => BOut::Reflect(r.finish()),
        }
    }
}

/// What every worker of a run shares.
pub struct Shared<'a> {
    /// The run.
    pub spec: &'a RunSpec,
    /// Side A's and side B's end.
    pub ends: [&'a Endpoint; 2],
    /// The programs attached on A and B.
    pub progs: &'a [Option<Attached>; 2],
    /// Each flow's generator plan.
    pub plans: &'a [GenPlan],
}

/// Enters `e`'s namespace and opens a socket on `queue`, registered with the side's program.
fn open(sh: &Shared<'_>, side: Side, queue: u32) -> Result<Xsk, WorkerError> {
    let e = sh.ends[side.index()];
    enter(e)?;
    let xsk = Xsk::open(&e.interface, queue, &sh.spec.xsk)?;
    if let Some(p) = &sh.progs[side.index()] {
        p.program().register_xsk(queue, xsk.fd())?;
    }
    Ok(xsk)
}

/// Opens B's socket of `flow`, primes its fill ring and wraps it in the mode's receiver.
fn open_receiver(sh: &Shared<'_>, flow: u32) -> Result<Receiver, WorkerError> {
    let mut xsk = open(sh, Side::B, flow)?;
    prime_fill(&mut xsk, sh.spec.xsk.ring as usize);
    let (batch, x) = (sh.spec.xsk.batch as usize, &sh.spec.xsk);
    Ok(if sh.spec.mode.returns() {
        Receiver::Reflect(Reflector::new(
            xsk,
            batch,
            x.need_wakeup,
            sh.spec.timestamps,
        ))
    } else {
        Receiver::Sink(Sink::new(xsk, flow, batch, sh.spec.timestamps))
    })
}

/// Runs a generator to its end, stepping `rx` (colocated) in between; then drains `rx`.
fn drive(mut gen: Generator<'_>, mut rx: Option<Receiver>, ctl: &Ctl<'_>) -> Work {
    gen.start(now_ns());
    loop {
        let more = gen.step(now_ns(), ctl.cancel.is_set(), ctl.progress);
        if let Some(r) = rx.as_mut() {
            r.step(ctl.progress);
        }
        if !more {
            break;
        }
    }
    if let Some(r) = rx.as_mut() {
        r.drain(ctl.progress);
    }
    Work {
        gen: Some(gen.finish()),
        b: rx.map(Receiver::finish),
    }
}

/// Runs a receiver until the stop, then drains it.
fn receive(mut rx: Receiver, ctl: &Ctl<'_>) -> Work {
    let mut drain = Drain::default();
    let stop = ctl.stop;
    loop {
        let n = rx.step(ctl.progress);
        if drain.done(
            n,
            rx.busy(),
            stop.load(std::sync::atomic::Ordering::Acquire),
        ) {
            break;
        }
    }
    Work {
        gen: None,
        b: Some(rx.finish()),
    }
}

/// A's (or a colocated) worker of `flow`.
fn sender<'a>(sh: &'a Shared<'a>, flow: u32, colocated: bool) -> Job<'a, Work> {
    let with_b = colocated && sh.spec.mode.row().workers[1];
    Job {
        id: if colocated {
            WorkerId::colocated(flow)
        } else {
            WorkerId::of(Side::A, flow)
        },
        core: sh.spec.core_of(Side::A, flow),
        leads: true,
        open: Box::new(move || {
            // B's socket first: its fill ring is primed before A can send.
            let rx = with_b.then(|| open_receiver(sh, flow)).transpose()?;
            let gen = Generator::new(open(sh, Side::A, flow)?, &sh.plans[flow as usize]);
            let body: Body<'a, Work> = Box::new(move |ctl| Ok(drive(gen, rx, ctl)));
            Ok(body)
        }),
    }
}

/// B's worker of `flow` (split layout).
fn receiver<'a>(sh: &'a Shared<'a>, flow: u32) -> Job<'a, Work> {
    Job {
        id: WorkerId::of(Side::B, flow),
        core: sh.spec.core_of(Side::B, flow),
        leads: false,
        open: Box::new(move || {
            let rx = open_receiver(sh, flow)?;
            let body: Body<'a, Work> = Box::new(move |ctl| Ok(receive(rx, ctl)));
            Ok(body)
        }),
    }
}

/// Every worker of the run: per flow, B's receiver (split, modes with a B socket) and A's
/// generator, or one colocated worker.
pub fn jobs<'a>(sh: &'a Shared<'a>) -> Vec<Job<'a, Work>> {
    let colocated = sh.spec.layout == Layout::Colocated;
    let b_socket = sh.spec.mode.row().workers[1];
    let mut jobs = Vec::new();
    for flow in 0..sh.spec.flows {
        if b_socket && !colocated {
            jobs.push(receiver(sh, flow));
        }
        jobs.push(sender(sh, flow, colocated));
    }
    jobs
}

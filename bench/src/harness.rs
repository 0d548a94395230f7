//! The harness every mode runs on, AF_XDP or kernel stack, one flow or many: start N workers
//! (each pins its core, enters its namespaces, opens and primes its sockets, reports ready), take
//! the counters, one go, sample once a second while the leading workers (the senders) run, one
//! stop, join, take the counters again.
//!
//! A worker that fails aborts the others through the harness's own flag; the user's interrupt is
//! a different flag, which only ends sending early (what was measured is kept).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use model::cpu::{core_shares, proc_stat, CoreShares, ThreadUsage, WorkerCpu};
use model::interval::Interval;

use crate::cpu::measure;
use crate::error::{BenchError, WorkerError, WorkerId};
use crate::progress::{sample_until, Progress};

/// How long workers may take to get ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Two flags read as one: set if either is.
pub struct Either<'a>(pub &'a AtomicBool, pub &'a AtomicBool);

impl Either<'_> {
    /// Whether either flag is set.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed) || self.1.load(Ordering::Relaxed)
    }
}

/// What a worker's loop sees.
pub struct Ctl<'a> {
    /// Set when the leading workers are done (and `settle` has passed): receivers drain and end.
    pub stop: &'a AtomicBool,
    /// The user's interrupt or the harness's abort: senders stop sending and drain.
    pub cancel: Either<'a>,
    /// Its flow's counters for the once-a-second sampler.
    pub progress: &'a Progress,
}

/// A worker's loop, returned by its opening step.
pub type Body<'a, T> = Box<dyn FnOnce(&Ctl<'_>) -> Result<T, WorkerError> + Send + 'a>;

/// A worker's opening step, run on its thread after pinning: enters namespaces, opens and primes
/// sockets, and returns the loop.
pub type Open<'a, T> = Box<dyn FnOnce() -> Result<Body<'a, T>, WorkerError> + Send + 'a>;

/// One worker to start.
pub struct Job<'a, T> {
    /// Which worker.
    pub id: WorkerId,
    /// Its core.
    pub core: usize,
    /// Whether the run lasts as long as this worker (senders); the others run until stopped.
    pub leads: bool,
    /// Its opening step.
    pub open: Open<'a, T>,
}

/// A worker that ran to its end.
pub struct Finished<T> {
    /// Which worker.
    pub id: WorkerId,
    /// Its core.
    pub core: usize,
    /// What its loop returned.
    pub out: T,
    /// What its thread used over its loop (unknown if unreadable).
    pub cpu: Option<ThreadUsage>,
}

/// Each side's worker costs, from every finished worker whose `side_frames` says which side it
/// drove (0 for A, 1 for B) and how many frames it handled; `None` for a side with a worker whose
/// counters could not be read (unknown, never zero) or with no worker.
pub fn worker_cpu<T>(
    workers: &[Finished<T>],
    side_frames: impl Fn(&T) -> Option<(usize, u64)>,
    spins: bool,
) -> [Option<Vec<WorkerCpu>>; 2] {
    let mut sides: [Option<Vec<WorkerCpu>>; 2] = [Some(Vec::new()), Some(Vec::new())];
    for w in workers {
        let Some((side, frames)) = side_frames(&w.out) else {
            continue;
        };
        match w.cpu {
            Some(u) => {
                if let Some(v) = sides[side].as_mut() {
                    v.push(WorkerCpu::new(w.core, u, frames, spins));
                }
            }
            None => sides[side] = None,
        }
    }
    sides.map(|s| s.filter(|v| !v.is_empty()))
}

/// What a harnessed run gives back.
pub struct Harnessed<T, S> {
    /// Every worker, in the order of the jobs.
    pub workers: Vec<Finished<T>>,
    /// The counters before the go.
    pub before: S,
    /// The counters after the join.
    pub after: S,
    /// How each pinned core spent the run (unknown cores left out).
    pub cores: Vec<CoreShares>,
    /// The per-second figures.
    pub intervals: Vec<Interval>,
}

/// How to run the workers.
pub struct Plan<'a> {
    /// Flows (one [`Progress`] each; a job's flow picks its own).
    pub flows: usize,
    /// The pinned cores, for /proc/stat shares.
    pub cores: &'a [usize],
    /// Whether arrivals are counted (the sampler shows a received rate).
    pub counts_arrivals: bool,
    /// Time between the leaders' end and the stop (lets the last frames land).
    pub settle: Duration,
    /// The user's interrupt.
    pub interrupt: &'a AtomicBool,
}

type Ready = (usize, Result<(), WorkerError>);

/// The harness's own flags.
#[derive(Default)]
struct Flags {
    go: AtomicBool,
    stop: AtomicBool,
    abort: AtomicBool,
}

impl Flags {
    /// Releases every worker, wherever it waits: aborted, started (they see the abort), stopped.
    fn abort_all(&self) {
        self.abort.store(true, Ordering::Release);
        self.go.store(true, Ordering::Release);
        self.stop.store(true, Ordering::Release);
    }
}

/// One worker's thread: pin, open, report, wait for the go, run its loop (CPU measured).
fn work<'a, T>(
    index: usize,
    core: usize,
    open: Open<'a, T>,
    flags: &Flags,
    interrupt: &AtomicBool,
    progress: &Progress,
    ready: mpsc::Sender<Ready>,
) -> Result<(T, Option<ThreadUsage>), WorkerError> {
    let opened = crate::workers::pin(core).and_then(|()| open());
    let body = match opened {
        Ok(body) => {
            // The harness may have given up waiting already; then nobody listens, which is fine.
            let _ = ready.send((index, Ok(())));
            body
        }
        Err(e) => {
            let _ = ready.send((index, Err(e)));
            return Err(WorkerError::Reported);
        }
    };
    while !flags.go.load(Ordering::Acquire) {
        std::hint::spin_loop();
        std::thread::yield_now();
    }
    let ctl = Ctl {
        stop: &flags.stop,
        cancel: Either(&flags.abort, interrupt),
        progress,
    };
    let (out, cpu) = measure(|| body(&ctl));
    Ok((out?, cpu))
}

/// Waits for every worker's ready report; the first failure, if any.
fn wait_ready(reports: &mpsc::Receiver<Ready>, jobs: &[WorkerId]) -> Option<BenchError> {
    let mut failure = None;
    let mut seen = vec![false; jobs.len()];
    for _ in 0..jobs.len() {
        match reports.recv_timeout(READY_TIMEOUT) {
            Ok((i, r)) => {
                seen[i] = true;
                if let Err(source) = r {
                    failure.get_or_insert(BenchError::Worker {
                        worker: jobs[i],
                        source,
                    });
                }
            }
            Err(_) => {
                let late = seen.iter().position(|s| !s).unwrap_or(0);
                failure.get_or_insert(BenchError::Worker {
                    worker: jobs[late],
                    source: WorkerError::NotReady(READY_TIMEOUT.as_secs()),
                });
                break;
            }
        }
    }
    failure
}

/// Runs `jobs` with the counters `snapshot` reads before the go and after the join.
pub fn run<'a, T: Send + 'a, S>(
    jobs: Vec<Job<'a, T>>,
    snapshot: impl Fn() -> Result<S, BenchError>,
    plan: &Plan<'_>,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<Harnessed<T, S>, BenchError> {
    let flags = Flags::default();
    let progress: Vec<Progress> = (0..plan.flows.max(1))
        .map(|_| Progress::default())
        .collect();
    let ids: Vec<WorkerId> = jobs.iter().map(|j| j.id).collect();
    let cores: Vec<usize> = jobs.iter().map(|j| j.core).collect();
    let leads: Vec<bool> = jobs.iter().map(|j| j.leads).collect();
    std::thread::scope(|s| {
        let (ready_tx, ready_rx) = mpsc::channel::<Ready>();
        let (flags, progress, interrupt) = (&flags, &progress, plan.interrupt);
        let mut handles = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let ready = ready_tx.clone();
            let flow = &progress[(job.id.flow as usize).min(progress.len() - 1)];
            let spawned = std::thread::Builder::new()
                .name(job.id.thread_name())
                .spawn_scoped(s, move || {
                    work(i, job.core, job.open, flags, interrupt, flow, ready)
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Release whichever workers did start, or the scope would wait for them.
                    flags.abort_all();
                    return Err(BenchError::Worker {
                        worker: ids[i],
                        source: WorkerError::Spawn(e),
                    });
                }
            }
        }
        drop(ready_tx);
        let before = match wait_ready(&ready_rx, &ids) {
            None => snapshot(),
            Some(e) => Err(e),
        };
        if before.is_err() {
            flags.abort_all();
        }
        flags.go.store(true, Ordering::Release);
        let stat_before = proc_stat();
        let leaders_done = || {
            handles
                .iter()
                .zip(&leads)
                .all(|(h, leads)| !leads || h.is_finished())
        };
        let intervals = sample_until(
            leaders_done,
            progress,
            plan.cores,
            plan.counts_arrivals,
            on_interval,
        );
        // Leaders are done; let the last frames land, then stop the receivers.
        if !flags.abort.load(Ordering::Acquire) {
            std::thread::sleep(plan.settle);
        }
        flags.stop.store(true, Ordering::Release);
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let stat_after = proc_stat();
        let before = before?;
        let mut workers = Vec::new();
        for (i, r) in joined.into_iter().enumerate() {
            let fail = |source| BenchError::Worker {
                worker: ids[i],
                source,
            };
            let (out, cpu) = r.map_err(|_| fail(WorkerError::Panicked))?.map_err(fail)?;
            workers.push(Finished {
                id: ids[i],
                core: cores[i],
                out,
                cpu,
            });
        }
        let after = snapshot()?;
        let cores = match (stat_before, stat_after) {
            (Some(b), Some(a)) => core_shares(&b, &a, plan.cores),
            _ => Vec::new(),
        };
        Ok(Harnessed {
            workers,
            before,
            after,
            cores,
            intervals,
        })
    })
}

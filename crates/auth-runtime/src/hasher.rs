//! Password hashing off the async executor, on a fixed pool of threads
//! that reuse their memory: a flood of logins queues for hashing instead of
//! stalling every other request or growing the process, and
//! past a bounded queue is shed ([`HashError::Busy`]) instead of waiting
//! without end.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::domain::{Password, PasswordHash};
use auth_core::hashing::{Argon2Hasher, HashMemory};
use auth_core::ports::{HashError, PasswordHasher, Verification};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::{Mutex, mpsc};

use tokio::sync::{Semaphore, oneshot};

/// What a hash was computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values are lower case
enum Operation {
    /// A new password's hash.
    hash,
    /// A password checked against a stored hash.
    verify,
    /// The stand-in check for an unknown account, so that it takes as long.
    dummy,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: Operation,
}

/// The hashing pool's series: hashes computed, and time spent waiting for
/// a slot (how far demand is beyond the pool).
#[derive(Debug, Clone)]
pub struct HashMetrics {
    computed: Family<OperationLabels, Counter>,
    wait: Histogram,
    shed: Counter,
}

impl HashMetrics {
    /// Creates the series and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            computed: Family::default(),
            // 0.1 ms to ~3 s: none, up to a long queue of argon2 hashes.
            wait: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            shed: Counter::default(),
        };
        registry.register(
            "auth_password_hashes",
            "Password hashes computed, by operation",
            metrics.computed.clone(),
        );
        registry.register_with_unit(
            "auth_password_hash_wait",
            "Time a password hash waited for a hashing slot",
            Unit::Seconds,
            metrics.wait.clone(),
        );
        registry.register(
            "auth_password_hashes_shed",
            "Password checks refused because the hashing queue was full (503)",
            metrics.shed.clone(),
        );
        metrics
    }
}

/// A hash to compute on a hashing thread, in that thread's memory.
type Job = Box<dyn FnOnce(&Argon2Hasher, &mut HashMemory) + Send>;

/// Runs [`Argon2Hasher`] on a fixed pool of `limit` threads of its own, each
/// keeping one hash's memory for every hash it computes: however many
/// requests hash, hashing holds `limit` × the memory cost, no more (the
/// allocator never sees a 19 MiB block freed on one thread and wanted on
/// another). Hashes beyond the threads wait in order.
#[derive(Clone)]
pub struct BlockingHasher {
    jobs: mpsc::Sender<Job>,
    threads: usize,
    /// One per hash running or waiting; none left means shed.
    admitted: Option<Arc<Semaphore>>,
    metrics: Option<HashMetrics>,
}

impl std::fmt::Debug for BlockingHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingHasher")
            .field("threads", &self.threads)
            .field("admitted", &self.admitted)
            .finish_non_exhaustive()
    }
}

impl BlockingHasher {
    /// Starts `limit` hashing threads (at least one) for `inner`; they end
    /// when the last clone of the pool is dropped.
    pub fn new(inner: Argon2Hasher, limit: usize) -> Self {
        let threads = limit.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let inner = Arc::new(inner);
        for index in 0..threads {
            let (queue, inner) = (queue.clone(), inner.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&inner, &queue));
            if let Err(error) = spawned {
                // Fewer threads hash slower; none is reported by the first hash.
                tracing::error!(%error, "could not start a hashing thread");
            }
        }
        Self {
            jobs,
            threads,
            admitted: None,
            metrics: None,
        }
    }

    /// The same pool, with at most `waiting` hashes waiting for a thread
    /// beyond those running; one more is refused with [`HashError::Busy`].
    pub fn with_queue(self, waiting: usize) -> Self {
        Self {
            admitted: Some(Arc::new(Semaphore::new(self.threads + waiting))),
            ..self
        }
    }

    /// The same pool, counted in `metrics`.
    pub fn with_metrics(self, metrics: HashMetrics) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    async fn run<T, F>(&self, operation: Operation, work: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce(&Argon2Hasher, &mut HashMemory) -> T + Send + 'static,
    {
        let admitted = match &self.admitted {
            Some(admitted) => match admitted.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    if let Some(metrics) = &self.metrics {
                        metrics.shed.inc();
                    }
                    return Err(HashError::Busy);
                }
            },
            None => None,
        };
        let (done, result) = oneshot::channel();
        let queued = std::time::Instant::now();
        let metrics = self.metrics.clone();
        let job: Job = Box::new(move |hasher, memory| {
            // Held until the hash is done, even if its request is gone, so
            // the queue's bound counts every hash still to compute.
            let _admitted = admitted;
            if let Some(metrics) = &metrics {
                metrics.wait.observe(queued.elapsed().as_secs_f64());
            }
            // Its request is gone (the client hung up while it queued): a
            // hash nobody reads would only delay the ones still awaited.
            if done.is_closed() {
                return;
            }
            let _ = done.send(work(hasher, memory));
        });
        self.jobs
            .send(job)
            .map_err(|_| HashError::Failed("the hashing threads are gone".into()))?;
        let done = result
            .await
            .map_err(|_| HashError::Failed("a hashing thread failed".into()))?;
        if let Some(metrics) = &self.metrics {
            metrics
                .computed
                .get_or_create(&OperationLabels { operation })
                .inc();
        }
        Ok(done)
    }
}

/// Puts this (hashing) thread under Linux's `SCHED_IDLE` policy: it runs
/// only on a core no request thread wants, and a request thread waking up
/// takes the core from it at once.
///
/// Measured under a login flood beside profile reads (`cargo xtask bench
/// load`, PostgreSQL + Redis, 2 cores): at the request threads' priority
/// the reads' p99 grew 3.6–4.6× its idle figure; at niceness 10, 7.8×
/// (a nice-10 thread still keeps a core until its slice ends before a
/// woken request thread gets it); at niceness 19, 3.0×; under `SCHED_IDLE`,
/// 2.4–3.1× (SQLite and PostgreSQL + Redis), the rest being the kernel
/// balancing two busy cores — a separate process beside the same flood
/// keeps its idle p99. Hashing still has every core when only
/// logins run, and past `PASSWORD_HASH_QUEUE` logins are shed with 503
/// rather than left waiting behind reads. Lowering a thread's own policy
/// needs no privilege.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(error) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            idle,
        ) {
            tracing::warn!(?error, "could not lower a hashing thread's priority");
        }
    }
}

/// A hashing thread: takes jobs in turn until the pool is dropped, each in
/// the one memory it keeps (allocated at its first job). A job that panics
/// loses its answer, not the thread.
fn work(hasher: &Argon2Hasher, queue: &Mutex<mpsc::Receiver<Job>>) {
    yield_to_requests();
    let mut memory: Option<HashMemory> = None;
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let memory = memory.get_or_insert_with(|| hasher.memory());
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(hasher, memory)));
        if ran.is_err() {
            tracing::error!("a password hash panicked");
        }
    }
}

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        self.run(Operation::hash, move |h, memory| {
            h.hash_in(&password, memory)
        })
        .await?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(Operation::verify, move |h, memory| {
            h.verify_in(&password, &hash, memory)
        })
        .await
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        let password = password.clone();
        self.run(Operation::dummy, move |h, memory| {
            h.verify_dummy_in(&password, memory)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::hashing::Argon2Params;

    /// The scheduling policy of this process's threads named `name`, from
    /// /proc (0 is `SCHED_OTHER`, 5 `SCHED_IDLE`).
    #[cfg(target_os = "linux")]
    fn policies_of(name: &str) -> Vec<u32> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.unwrap().path().join("stat")).ok())
            .filter_map(|stat| {
                // "tid (comm) state …": counting from the state (the 3rd
                // field), the policy (the 41st) is the 39th.
                let (head, rest) = stat.rsplit_once(") ")?;
                let comm = head.split_once(" (")?.1;
                (comm == name).then(|| rest.split(' ').nth(38)?.parse().ok())?
            })
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_threads_run_only_where_request_threads_do_not() {
        const SCHED_OTHER: u32 = 0;
        const SCHED_IDLE: u32 = 5;
        let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap();
        let pool = BlockingHasher::new(hasher, 1);
        // A hash done means the thread has started (and lowered itself).
        pool.hash(&Password::new("a long enough passphrase 42"))
            .await
            .unwrap();
        assert_eq!(policies_of("argon2-0"), [SCHED_IDLE]);
        let workers = policies_of("tokio-rt-worker");
        assert!(
            !workers.is_empty() && workers.iter().all(|p| *p == SCHED_OTHER),
            "{workers:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_a_hash_is_refused_and_the_pool_recovers() {
        // Slow enough that the first two are still in the pool when the
        // third arrives.
        let params = Argon2Params {
            m_cost: 65_536,
            t_cost: 4,
            p_cost: 1,
        };
        let hasher = Argon2Hasher::new(params).unwrap();
        let pool = BlockingHasher::new(hasher, 1).with_queue(1);
        let password = Password::new("a long enough passphrase 42");
        let (a, b, c) = tokio::join!(
            pool.hash(&password),
            pool.hash(&password),
            pool.hash(&password)
        );
        let outcomes = [a.is_ok(), b.is_ok(), c.is_ok()];
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 2, "{outcomes:?}");
        assert_eq!(
            [a, b, c].into_iter().find_map(Result::err),
            Some(HashError::Busy)
        );
        // Once the queue drains, hashes are admitted again.
        assert!(pool.hash(&password).await.is_ok());
    }
}

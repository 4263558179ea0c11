//! The background tasks of `kushim serve`: the scheduler ticking, workers running jobs, the
//! outbox delivering, all stopped together on SIGTERM (a running job finishes or, after the
//! grace period, is released for another replica).

use std::{sync::Arc, time::Duration};

use tokio::{sync::watch, task::JoinHandle};

use super::{
    schedule::Scheduler,
    worker::{Handler, Worker},
};
use crate::{
    outbox::{Dispatcher, Messenger},
    server::Clock,
};

/// How often the outbox looks for messages to send.
pub const OUTBOX_POLL: Duration = Duration::from_millis(500);

/// Running background tasks.
pub struct Background {
    stop: Arc<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Asks the background tasks to stop; cheap to clone into a signal handler.
#[derive(Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Background {
    /// Starts the scheduler loop and one task per worker.
    pub fn start<H: Handler + 'static>(
        scheduler: Scheduler,
        workers: Vec<Worker<H>>,
        clock: Clock,
        tick: Duration,
    ) -> Background {
        let (stop, _) = watch::channel(false);
        let stop = Arc::new(stop);
        let mut tasks = Vec::new();
        let mut stopped = stop.subscribe();
        tasks.push(tokio::spawn(async move {
            while !*stopped.borrow() {
                let outcome = match scheduler.tick(clock()).await {
                    Ok(_) => "ok",
                    Err(error) => {
                        tracing::error!(%error, "scheduler tick failed");
                        "error"
                    }
                };
                metrics::counter!("kushim_scheduler_ticks_total", "outcome" => outcome)
                    .increment(1);
                tokio::select! {
                    _ = tokio::time::sleep(tick) => {}
                    _ = stopped.changed() => {}
                }
            }
        }));
        for worker in workers {
            let stopped = stop.subscribe();
            tasks.push(tokio::spawn(async move { worker.run(stopped).await }));
        }
        Background { stop, tasks }
    }

    /// Adds the outbox's delivery loop.
    pub fn deliver<M: Messenger + 'static>(&mut self, dispatcher: Dispatcher<M>, poll: Duration) {
        let stopped = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move { dispatcher.run(poll, stopped).await }));
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stop))
    }

    /// Stops every task and waits for them (running jobs finish or are released).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a background task panicked");
            }
        }
    }
}

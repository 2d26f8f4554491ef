//! Builds the running service from settings and runs it until shutdown.
//!
//! [`Application::build`] binds both listeners (port 0 works, which is what tests use),
//! connects the store and loads the rules; [`Application::run_until`] runs every stage until the
//! shutdown future completes, then lets in-flight requests and the inbox writer's last batch
//! finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::actions::Executor;
use crate::admin::{self, AdminState};
use crate::config::Settings;
use crate::graph::GraphClient;
use crate::inbox::InboxWriter;
use crate::ingress::{self, IngressState};
use crate::pipeline::{Pipeline, RulesRegistry};
use crate::store::{SqlStore, Store};

pub struct Application {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub rules: Arc<RulesRegistry>,
    pub graph: Arc<GraphClient>,
    public: TcpListener,
    admin: TcpListener,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        settings.require_for_serve()?;
        let store = SqlStore::connect(settings.database_url.expose())
            .await
            .context("opening the database (COMMENTGUARD_DATABASE_URL)")?;
        let rules = load_rules(&settings)?;
        // Tokens renewed by an earlier run or another instance win over the settings' before
        // the first call to Meta.
        crate::link::refresh::load(&store, &settings)
            .await
            .context("reading renewed tokens from the database")?;
        let graph = graph_client(&settings);
        if let Some(files) = &settings.tls {
            // A wrong certificate or key stops start-up here, with the file named.
            files.server_config()?;
        }
        let public = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding COMMENTGUARD_LISTEN {}", settings.listen))?;
        let admin = TcpListener::bind(settings.admin_listen)
            .await
            .with_context(|| {
                format!(
                    "binding COMMENTGUARD_ADMIN_LISTEN {}",
                    settings.admin_listen
                )
            })?;
        Ok(Application {
            settings: Arc::new(settings),
            store: Arc::new(store),
            rules: Arc::new(rules),
            graph: Arc::new(graph),
            public,
            admin,
        })
    }

    pub fn port(&self) -> u16 {
        self.public.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn admin_port(&self) -> u16 {
        self.admin.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Runs until `shutdown` completes; returns after a graceful stop.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let cancel = CancellationToken::new();
        let metrics = crate::telemetry::metrics_handle();
        let actions_wake = Arc::new(Notify::new());
        let (writer, writer_task) = InboxWriter::spawn(self.store.clone());

        let public_app = self.public_app(writer)?;
        let Stages {
            pipeline,
            executor,
            monitor,
        } = Stages::new(
            &self.settings,
            &self.store,
            &self.rules,
            &self.graph,
            actions_wake.clone(),
        );
        let subscriptions = Arc::new(crate::link::health::SubscriptionWatch::default());
        let tokens = Arc::new(crate::link::tokens::TokenWatch::default());
        let session_key = self.session_key().await?;
        let admin_app = admin::router(AdminState {
            session_key,
            monitor: monitor.clone(),
            store: self.store.clone(),
            settings: self.settings.clone(),
            rules: self.rules.clone(),
            graph: self.graph.clone(),
            metrics,
            actions_wake: actions_wake.clone(),
            subscriptions: subscriptions.clone(),
            tokens: tokens.clone(),
            sign_ins: Default::default(),
            links: Default::default(),
        });

        // Before the first comment is evaluated: rules another instance (or an earlier run)
        // switched to shadow must not enforce even once.
        if let Err(e) = monitor.refresh().await {
            tracing::warn!(error = %e, "rule statistics and auto-shadowed rules not read at start; retrying in the background");
        }

        // Rules reload when their files change or on SIGHUP; a failed load keeps the old set.
        let _watchers = self.rules.watch();
        self.rules.reload_on_sighup();

        self.register().await?;

        let mut workers = tokio::task::JoinSet::new();
        workers.spawn(heartbeat(
            self.store.clone(),
            self.settings.claim_timeout,
            cancel.clone(),
        ));
        // The pipeline's workers run on threads of their own at a lower CPU priority: a burst
        // of deliveries is acknowledged first and moderated right after (see `Background`).
        let background = Background::start()?;
        if self.settings.workers == 0 {
            tracing::warn!(
                "COMMENTGUARD_WORKERS=0: this instance stores webhooks but moderates nothing \
                 (right for a receiving instance on PostgreSQL, wrong on SQLite)"
            );
        }
        for _ in 0..self.settings.workers {
            workers.spawn_on(pipeline.clone().run(cancel.clone()), background.handle());
        }
        workers.spawn(executor.run(cancel.clone()));
        workers.spawn(monitor.run(cancel.clone()));
        self.spawn_jobs(&mut workers, &subscriptions, &tokens, &cancel);

        self.announce()?;

        let stop = cancel.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            stop.cancel();
        });
        let tls = match &self.settings.tls {
            None => None,
            Some(files) => Some(crate::tls::load_and_watch(files.clone(), cancel.clone())?),
        };
        let limits = self.settings.front_door.clone();
        let public = crate::front_door::serve(
            self.public,
            public_app,
            limits.clone(),
            tls,
            cancel.clone(),
            Duration::from_secs(20),
            "public",
        );
        let admin = crate::front_door::serve(
            self.admin,
            admin_app,
            limits,
            None,
            cancel.clone(),
            Duration::from_secs(20),
            "admin",
        );
        let (p, a) = tokio::join!(public, admin);
        p.context("public listener")?;
        a.context("admin listener")?;
        // The router (and with it the last writer handle) is gone: the writer commits its last
        // batch and ends.
        let _ = writer_task.await;
        while workers.join_next().await.is_some() {}
        if let Err(e) = self.store.unregister_instance().await {
            tracing::warn!(error = %e, "could not remove this instance's heartbeat; its row ages out");
        }
        drop(background);
        tracing::info!("stopped");
        Ok(())
    }
    /// The public listener's routes: the webhook and health, behind a whole-request timeout
    /// and a cap on requests in flight.
    fn public_app(&self, writer: InboxWriter) -> anyhow::Result<axum::Router> {
        let ingress_state = IngressState {
            gate: Default::default(),
            app_secrets: Arc::new(self.settings.webhook_secrets()),
            verify_token: self
                .settings
                .verify_token
                .clone()
                .context("COMMENTGUARD_VERIFY_TOKEN is not set")?,
            writer,
            store: self.store.clone(),
        };
        Ok(
            ingress::router(ingress_state, self.settings.body_limit).layer(
                tower::ServiceBuilder::new()
                    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                        axum::http::StatusCode::REQUEST_TIMEOUT,
                        Duration::from_secs(15),
                    ))
                    .layer(tower::limit::ConcurrencyLimitLayer::new(1024)),
            ),
        )
    }

    /// The key that signs review-page sessions: made at the first start, then read back (the
    /// first instance's key stands when several start together), and keyed with the app
    /// secret, so that a copy of the database alone cannot forge a session.
    async fn session_key(&self) -> anyhow::Result<crate::secret::Secret> {
        let fresh: [u8; 32] = rand::random();
        let stored = self
            .store
            .session_key(&hex::encode(fresh))
            .await
            .context("reading the review page's session key from the database")?;
        Ok({
            use hmac::{Hmac, Mac};
            let app_secret = self
                .settings
                .app_secrets
                .first()
                .context("COMMENTGUARD_APP_SECRET is not set")?;
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.expose().as_bytes())
                .expect("any key length");
            mac.update(b"review sessions\0");
            mac.update(stored.as_bytes());
            crate::secret::Secret::new(hex::encode(mac.finalize().into_bytes()))
        })
    }

    /// Before the first claim: this run's name goes into every claim it takes, and the work
    /// its previous run had claimed when it stopped (a crash, a kill) is taken back at once
    /// instead of waiting for the leases to run out.
    async fn register(&self) -> anyhow::Result<()> {
        let boot_ms = crate::store::now_ms();
        let taken = self
            .store
            .register_instance(
                &self.settings.instance_id,
                boot_ms,
                self.settings.claim_timeout,
                boot_ms,
            )
            .await
            .context("registering this instance in the database")?;
        tracing::info!(
            instance_id = %self.settings.instance_id,
            boot_ms,
            events_taken_back = taken.events,
            actions_taken_back = taken.actions,
            stories_taken_back = taken.stories,
            "instance registered"
        );
        Ok(())
    }

    /// The periodic jobs beside the pipeline: purge, rule-event pruning, story snapshots,
    /// label agreement, the link to Meta (subscriptions, token refresh and check), sweeps.
    fn spawn_jobs(
        &self,
        workers: &mut tokio::task::JoinSet<()>,
        subscriptions: &Arc<crate::link::health::SubscriptionWatch>,
        tokens: &Arc<crate::link::tokens::TokenWatch>,
        cancel: &CancellationToken,
    ) {
        workers.spawn(crate::jobs::purge::run_periodically(
            self.store.clone(),
            self.settings.retention,
            self.settings.label_retention,
            cancel.clone(),
        ));
        workers.spawn(crate::jobs::prune::prune_rule_events_periodically(
            self.store.clone(),
            self.rules.clone(),
            cancel.clone(),
        ));
        let poller = crate::insights::Poller::new(
            self.store.clone(),
            self.graph.clone(),
            self.settings.clone(),
            self.settings.polled_accounts(),
            self.settings.story_poll,
            self.settings.graph_version.clone(),
        );
        workers.spawn(poller.run(cancel.clone()));
        workers.spawn(crate::jobs::agreement::agreement_periodically(
            self.store.clone(),
            cancel.clone(),
        ));
        workers.spawn(subscriptions.clone().run(
            self.graph.clone(),
            self.settings.clone(),
            crate::link::health::EVERY,
            cancel.clone(),
        ));
        workers.spawn(crate::link::refresh::run(
            self.store.clone(),
            self.graph.clone(),
            self.settings.clone(),
            crate::link::refresh::EVERY,
            cancel.clone(),
        ));
        workers.spawn(tokens.clone().run(
            self.graph.clone(),
            self.settings.clone(),
            crate::link::tokens::EVERY,
            cancel.clone(),
        ));
        workers.spawn(crate::sweep::reconcile_periodically(
            crate::sweep::Sweeper {
                store: self.store.clone(),
                graph: self.graph.clone(),
            },
            self.settings.clone(),
            self.settings.sweep_interval,
            self.settings.sweep_window,
            cancel.clone(),
        ));
    }

    /// The start-up line an operator reads, and the warnings about a set-up that runs but
    /// does less than its operator may think (dry for want of a token, too few open files,
    /// no admin token).
    fn announce(&self) -> anyhow::Result<()> {
        // What "dry" means to an operator: nothing reaches Instagram, whether by the setting
        // or for want of any token to call with.
        let no_token = self.settings.access_token.is_none()
            && self
                .settings
                .accounts
                .values()
                .all(|a| a.access_token.is_none());
        let dry = self.settings.dry_run || no_token;
        let open_files = crate::front_door::raise_open_file_limit();
        tracing::info!(
            listen = %self.public.local_addr()?,
            open_file_limit = open_files.unwrap_or(0),
            header_timeout_ms = self.settings.front_door.header_timeout.as_millis() as u64,
            max_connections = self.settings.front_door.max_connections,
            max_connections_per_client = self.settings.front_door.max_per_client,
            admin_listen = %self.admin.local_addr()?,
            rules = self.rules.for_account("").len(),
            dry_run = dry,
            "commentguard serving"
        );
        if no_token && !self.settings.dry_run {
            tracing::warn!(
                "running dry: no COMMENTGUARD_ACCESS_TOKEN and no account token, so decisions are logged and nothing is hidden or answered on Instagram"
            );
        }
        if let Some(n) = open_files {
            let wanted = 2 * self.settings.front_door.max_connections + 256;
            if (n as usize) < wanted {
                tracing::warn!(
                    open_file_limit = n,
                    wanted,
                    "the open-file limit is below what both listeners' max_connections need; lower COMMENTGUARD_MAX_CONNECTIONS or raise the limit (ulimit -n, LimitNOFILE=)"
                );
            }
        }
        if self.settings.admin_token.is_none() {
            tracing::warn!(
                "COMMENTGUARD_ADMIN_TOKEN is not set: the admin API answers 403 until it is; people added with `commentguard users add` can still sign in to the review page"
            );
        }
        Ok(())
    }
}

pub use crate::link::graph_client;
pub use crate::pipeline::registry::load_rules;

/// The moderating stages: the pipeline (rules, decisions), the action executor (Graph calls)
/// and the rule monitor (auto-shadow), wired to one store, rules registry and Graph client.
/// `serve` runs them; `sweep` runs them too, to decide what it found.
pub struct Stages {
    pub pipeline: Arc<Pipeline>,
    pub executor: Arc<Executor>,
    pub monitor: Arc<crate::pipeline::RuleMonitor>,
}

impl Stages {
    pub fn new(
        settings: &Arc<Settings>,
        store: &Arc<dyn Store>,
        rules: &Arc<RulesRegistry>,
        graph: &Arc<GraphClient>,
        actions_wake: Arc<Notify>,
    ) -> Stages {
        let monitor = Arc::new(crate::pipeline::RuleMonitor::new(
            store.clone(),
            rules.clone(),
            settings,
        ));
        let pipeline = Arc::new(Pipeline {
            store: store.clone(),
            rules: rules.clone(),
            state_lock: Default::default(),
            monitor: monitor.clone(),
            graph: graph.clone(),
            settings: settings.clone(),
            actions_wake: actions_wake.clone(),
            own_usernames: Default::default(),
        });
        let executor = Arc::new(Executor {
            store: store.clone(),
            graph: graph.clone(),
            tokens: settings.clone(),
            wake: actions_wake,
            retry_base: settings.retry_base,
            lease: crate::actions::action_lease(settings.graph_timeout),
        });
        Stages {
            pipeline,
            executor,
            monitor,
        }
    }
}

/// Keeps this run's heartbeat fresh (PostgreSQL).
async fn heartbeat(store: Arc<dyn Store>, claim_timeout: Duration, cancel: CancellationToken) {
    let every = crate::store::instances::heartbeat_interval(claim_timeout);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = store.heartbeat(crate::store::now_ms()).await {
            tracing::warn!(error = %e, "heartbeat not written; other instances may take over this one's work if it stays so");
        }
    }
}

/// A runtime for background work whose threads run at background priority
/// ([`crate::priority`]).
struct Background {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Background {
    fn start() -> anyhow::Result<Background> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cg-background")
            .on_thread_start(crate::priority::lower_current_thread)
            .enable_all()
            .build()
            .context("starting the background runtime")?;
        Ok(Background {
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until dropped")
            .handle()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Its tasks have finished by now; dropping a runtime may not block inside another.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

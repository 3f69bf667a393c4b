//! The `convgraph` command line: parses arguments and runs the command.

use anyhow::Context as _;
use api::admission::RateLimit;
use api::auth::{
    AuthConfig, DEVELOPMENT_SECRET, Jwks, JwksOptions, JwksSource, Permission, TokenRequest,
    check_hs256_secret, mint,
};
use api::{HttpConfig, IngestConfig, Limits};
use clap::{Parser, Subcommand};
use convgraph::database::{Database, LocalData};
use convgraph::import::{Format, ImportOptions, import_paths};
use convgraph::server;
use domain::buzzeasy::Table;
use secrecy::{ExposeSecret as _, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;

/// jemalloc, built with its background threads on: memory freed after a large response (up to
/// `CONVGRAPH_MAX_RESPONSE_BYTES` each) goes back to the system within seconds. glibc's malloc
/// kept it: after a few 14 MB answers `serve` stayed at 128 MiB resident.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "convgraph",
    version,
    about = "A GraphQL gateway over a contact center's conversation graph"
)]
struct Cli {
    /// PostgreSQL to use; without it, a private local server is started from the PostgreSQL
    /// installed on this machine.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Data directory of the private local server (when no database URL is given).
    #[arg(
        long,
        env = "CONVGRAPH_DATA_DIR",
        global = true,
        default_value = ".convgraph/pgdata"
    )]
    data_dir: PathBuf,
    /// How log lines are written to stderr: `text` for people, `json` (one object per line,
    /// with the request's span fields) for log collectors.
    #[arg(
        long,
        env = "CONVGRAPH_LOG_FORMAT",
        global = true,
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API.
    Serve(ServeArgs),
    /// Mint an HS256 token with the configured secret (CONVGRAPH_JWT_SECRET), or with the public
    /// development secret of `convgraph demo` (`--dev`).
    Token {
        #[command(flatten)]
        auth: AuthArgs,
        /// Sign with the public development secret, which only `convgraph demo` accepts, instead
        /// of CONVGRAPH_JWT_SECRET.
        #[arg(long)]
        dev: bool,
        /// Subject of the token.
        #[arg(long, default_value = "developer")]
        sub: String,
        /// Division ids the token may see, comma-separated, or `*`.
        #[arg(long, value_delimiter = ',')]
        divisions: Option<Vec<String>>,
        /// Business unit ids the token may see, comma-separated, or `*`.
        #[arg(long, value_delimiter = ',')]
        business_units: Option<Vec<String>>,
        /// Permissions, comma-separated (conversations:read, pii:read, ingest:write).
        #[arg(long, value_delimiter = ',', default_value = "conversations:read")]
        permissions: Vec<Permission>,
        /// Lifetime: 30m, 1h, 7d, or seconds.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Generate a deterministic contact center of N conversations and store it.
    Seed {
        /// How many conversations.
        #[arg(long)]
        conversations: u64,
        /// The seed: the same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Chunks generated and stored at the same time.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// A private temporary PostgreSQL, generated data, and the API serving it.
    Demo {
        /// How many conversations to generate.
        #[arg(long, default_value_t = 2000)]
        conversations: u64,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Apply the migrations and exit.
    Migrate,
    /// Load Genesys conversation documents from files or directories.
    Import {
        /// Files or directories (walked for .json, .jsonl and .ndjson files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The source format; detected per document when not given.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
        /// The Buzzeasy table of OData pages and CSV files whose OData context, file name and
        /// directory name do not say it (e.g. `QueueSegments`, `Workitems`, `Calls`).
        #[arg(long, value_parser = parse_table)]
        table: Option<Table>,
        /// The tenant's IANA time zone (e.g. `Europe/Budapest`), for Buzzeasy timestamps given
        /// in local time only.
        #[arg(long)]
        time_zone: Option<chrono_tz::Tz>,
        /// Batches written at the same time.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

/// The rate limit per caller of `serve` unless configured: far above what one dashboard or
/// partner sends, a bound on what one token can make the server do.
const DEFAULT_RATE_PER_SECOND: u32 = 300;

fn parse_table(name: &str) -> Result<Table, String> {
    Table::from_name(name).ok_or_else(|| {
        format!(
            "no Buzzeasy table is called {name:?}; the tables: {}",
            Table::ALL.map(Table::name).join(", ")
        )
    })
}

#[derive(clap::Args)]
struct AuthArgs {
    /// HS256 secret that signs and verifies tokens: at least 32 bytes (e.g. the output of
    /// `openssl rand -base64 48`). `demo` uses the public development secret without one.
    #[arg(
        long,
        env = "CONVGRAPH_JWT_SECRET",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    jwt_secret: Option<SecretString>,
    /// Verify HS256 tokens; `false` turns HS256 off entirely (only tokens of the JWK set are
    /// accepted, and a configured secret is ignored).
    #[arg(
        long,
        env = "CONVGRAPH_JWT_HS256",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    jwt_hs256: bool,
    /// Required `iss` of tokens, when set.
    #[arg(long, env = "CONVGRAPH_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// Required `aud` of tokens, when set.
    #[arg(long, env = "CONVGRAPH_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// Clock leeway for `exp` and `nbf`, in seconds (at most 300).
    #[arg(
        long,
        env = "CONVGRAPH_JWT_LEEWAY_SECS",
        default_value_t = AuthConfig::DEFAULT_LEEWAY_SECONDS,
        value_parser = clap::value_parser!(u64).range(0..=AuthConfig::MAX_LEEWAY_SECONDS)
    )]
    jwt_leeway_secs: u64,
}

fn parse_secret(secret: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(secret))
}

/// Which HS256 secrets a command takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SecretUse {
    /// `serve` and `token`: a configured secret of real strength, or none.
    Production,
    /// `demo`: the public development secret unless one is configured.
    Development,
}

impl AuthArgs {
    /// The HS256 secret to use, `None` when HS256 is off or no secret is configured. A weak one
    /// (empty, shorter than 32 bytes, the public development secret) is an error, but the
    /// development secret itself for `demo`.
    fn hs256_secret(&self, use_: SecretUse) -> anyhow::Result<Option<SecretString>> {
        if !self.jwt_hs256 {
            if self.jwt_secret.is_some() {
                tracing::warn!(
                    "HS256 is turned off (--jwt-hs256 false): CONVGRAPH_JWT_SECRET is ignored"
                );
            }
            return Ok(None);
        }
        match &self.jwt_secret {
            Some(secret)
                if use_ == SecretUse::Development
                    && secret.expose_secret() == DEVELOPMENT_SECRET =>
            {
                Ok(Some(secret.clone()))
            }
            Some(secret) => {
                check_hs256_secret(secret).map_err(|e| {
                    anyhow::anyhow!(
                        "--jwt-secret / CONVGRAPH_JWT_SECRET: {e}; set a random secret of at least 32 bytes, \
                         or turn HS256 off with --jwt-hs256 false and verify tokens against a JWK set (CONVGRAPH_JWKS)"
                    )
                })?;
                Ok(Some(secret.clone()))
            }
            None if use_ == SecretUse::Development => Ok(Some(DEVELOPMENT_SECRET.into())),
            None => Ok(None),
        }
    }

    /// The token configuration with `secret` for HS256 (none: HS256 tokens are refused).
    fn config(&self, secret: Option<SecretString>) -> AuthConfig {
        let mut config = match secret {
            Some(secret) => AuthConfig::hs256(secret),
            None => AuthConfig::none(),
        };
        config.issuer = self.jwt_issuer.clone();
        config.audience = self.jwt_audience.clone();
        config.leeway_seconds = self.jwt_leeway_secs;
        config
    }
}

/// Asymmetric tokens: where their public keys come from, and how that source is cached.
#[derive(clap::Args)]
struct JwksArgs {
    /// JWK set of the public keys of RS256 / ES256 / EdDSA tokens: a file path or an https://
    /// URL (http:// only on 127.0.0.1, ::1 or localhost).
    #[arg(long, env = "CONVGRAPH_JWKS")]
    jwks: Option<String>,
    /// Cache lifetime of a fetched JWK set when its response has no `Cache-Control: max-age`.
    #[arg(long, env = "CONVGRAPH_JWKS_TTL_SECS", default_value_t = 300)]
    jwks_ttl_secs: u64,
    /// Longest cache lifetime of a fetched JWK set, whatever `max-age` says.
    #[arg(long, env = "CONVGRAPH_JWKS_MAX_TTL_SECS", default_value_t = 86_400)]
    jwks_max_ttl_secs: u64,
    /// Least time between two fetches caused by tokens naming an unknown `kid`.
    #[arg(
        long,
        env = "CONVGRAPH_JWKS_MIN_REFRESH_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    jwks_min_refresh_secs: u64,
    /// Longest a JWK set fetch may take.
    #[arg(
        long,
        env = "CONVGRAPH_JWKS_TIMEOUT_SECS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=60)
    )]
    jwks_timeout_secs: u64,
}

impl JwksArgs {
    /// The JWK set, loaded once (an error when that fails).
    async fn load(&self) -> anyhow::Result<Option<Jwks>> {
        let Some(source) = &self.jwks else {
            return Ok(None);
        };
        let options = JwksOptions {
            timeout: std::time::Duration::from_secs(self.jwks_timeout_secs),
            default_ttl: std::time::Duration::from_secs(self.jwks_ttl_secs),
            max_ttl: std::time::Duration::from_secs(self.jwks_max_ttl_secs),
            min_refresh_interval: std::time::Duration::from_secs(self.jwks_min_refresh_secs),
        };
        let source = JwksSource::parse(source).context("--jwks / CONVGRAPH_JWKS")?;
        let jwks = Jwks::load(source, options)
            .await
            .context("--jwks / CONVGRAPH_JWKS")?;
        tracing::info!(source = %jwks.source(), kids = ?jwks.kids(), "JWK set loaded");
        Ok(Some(jwks))
    }
}

/// Limits on abusive operations.
#[derive(clap::Args)]
struct LimitArgs {
    /// Deepest selection nesting of an operation.
    #[arg(long, env = "CONVGRAPH_MAX_DEPTH", default_value_t = Limits::DEFAULT_MAX_DEPTH)]
    max_depth: usize,
    /// Highest complexity of an operation (each field 1, pages multiply what they select).
    #[arg(long, env = "CONVGRAPH_MAX_COMPLEXITY", default_value_t = Limits::DEFAULT_MAX_COMPLEXITY)]
    max_complexity: usize,
    /// Most aliases in one document.
    #[arg(long, env = "CONVGRAPH_MAX_ALIASES", default_value_t = Limits::DEFAULT_MAX_ALIASES)]
    max_aliases: usize,
    /// Most fields at the root of an operation.
    #[arg(long, env = "CONVGRAPH_MAX_ROOT_FIELDS", default_value_t = Limits::DEFAULT_MAX_ROOT_FIELDS)]
    max_root_fields: usize,
    /// Most directives in one document.
    #[arg(long, env = "CONVGRAPH_MAX_DIRECTIVES", default_value_t = Limits::DEFAULT_MAX_DIRECTIVES)]
    max_directives: usize,
    /// Largest page (`first` / `last`).
    #[arg(
        long,
        env = "CONVGRAPH_MAX_PAGE_SIZE",
        default_value_t = Limits::DEFAULT_MAX_PAGE_SIZE as u64,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    max_page_size: u64,
    /// Most operations in a batch (a JSON array body); 0 turns batching off.
    #[arg(long, env = "CONVGRAPH_MAX_BATCH", default_value_t = Limits::DEFAULT_MAX_BATCH)]
    max_batch: usize,
    /// Most bytes of JSON the reads of one operation may answer with (`RESPONSE_TOO_LARGE`).
    #[arg(
        long,
        env = "CONVGRAPH_MAX_RESPONSE_BYTES",
        default_value_t = Limits::DEFAULT_MAX_RESPONSE_BYTES
    )]
    max_response_bytes: usize,
    /// Most live subscriptions this process holds at once.
    #[arg(long, env = "CONVGRAPH_MAX_SUBSCRIPTIONS", default_value_t = Limits::DEFAULT_MAX_SUBSCRIPTIONS)]
    max_subscriptions: usize,
    /// Most operations running at once on one WebSocket connection.
    #[arg(
        long,
        env = "CONVGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = Limits::DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION
    )]
    max_subscriptions_per_connection: usize,
    /// Answer introspection (`__schema`, `__type`): GraphiQL's docs need it. Default: off for
    /// `serve`, on for `demo`.
    #[arg(long, env = "CONVGRAPH_INTROSPECTION")]
    introspection: Option<bool>,
    /// Suggest field names in errors ("did you mean …"). Default: off for `serve`, on for `demo`.
    #[arg(long, env = "CONVGRAPH_FIELD_SUGGESTIONS")]
    field_suggestions: Option<bool>,
}

impl LimitArgs {
    /// The limits, from `defaults` (which decide introspection and suggestions when not given).
    fn limits(&self, defaults: Limits) -> Limits {
        Limits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            max_root_fields: self.max_root_fields,
            max_directives: self.max_directives,
            max_page_size: usize::try_from(self.max_page_size).unwrap_or(usize::MAX),
            max_batch: self.max_batch,
            max_response_bytes: self.max_response_bytes,
            max_subscriptions: self.max_subscriptions,
            max_subscriptions_per_connection: self.max_subscriptions_per_connection,
            introspection: self.introspection.unwrap_or(defaults.introspection),
            field_suggestions: self.field_suggestions.unwrap_or(defaults.field_suggestions),
        }
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CONVGRAPH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest accepted request body, in bytes; a larger one gets 413.
    #[arg(long, env = "CONVGRAPH_MAX_BODY_BYTES", default_value_t = HttpConfig::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Longest a request may take, in seconds; a slower one is cancelled with 504.
    #[arg(
        long,
        env = "CONVGRAPH_REQUEST_TIMEOUT_SECS",
        default_value_t = HttpConfig::DEFAULT_REQUEST_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    request_timeout_secs: u64,
    /// Longest a client may take to send a request's headers, in seconds; past it the
    /// connection is closed (also an idle kept-alive connection).
    #[arg(
        long,
        env = "CONVGRAPH_HEADER_READ_TIMEOUT_SECS",
        default_value_t = HttpConfig::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_read_timeout_secs: u64,
    /// Most connections open at once; one more is answered 503 and closed.
    #[arg(long, env = "CONVGRAPH_MAX_CONNECTIONS", default_value_t = HttpConfig::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most requests in flight at once (health checks and metrics aside); one more gets 503.
    #[arg(
        long,
        env = "CONVGRAPH_MAX_CONCURRENT_REQUESTS",
        default_value_t = HttpConfig::DEFAULT_MAX_CONCURRENT_REQUESTS
    )]
    max_concurrent_requests: usize,
    /// Requests a second one caller (token subject, or IP address without a token) may send to
    /// `/graphql` and `/ingest`; 0 turns the limit off. Default: 300 for `serve`, off for `demo`.
    #[arg(long, env = "CONVGRAPH_RATE_LIMIT_PER_SECOND")]
    rate_limit_per_second: Option<u32>,
    /// Requests one caller may send at once, beyond its rate. Default: twice the rate.
    #[arg(long, env = "CONVGRAPH_RATE_LIMIT_BURST", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_burst: Option<u32>,
    /// Largest document accepted by `ingestConversations` and `POST /ingest`, in bytes.
    #[arg(long, env = "CONVGRAPH_INGEST_MAX_DOCUMENT_BYTES", default_value_t = IngestConfig::default().limits.max_document_bytes)]
    ingest_max_document_bytes: usize,
    /// Largest `POST /ingest` body, in bytes; the push stops there (what came before is stored).
    #[arg(long, env = "CONVGRAPH_INGEST_MAX_BULK_BYTES", default_value_t = IngestConfig::default().max_bulk_bytes)]
    ingest_max_bulk_bytes: u64,
    /// Most connections the server opens to PostgreSQL for requests.
    #[arg(
        long,
        env = "CONVGRAPH_DB_POOL_SIZE",
        default_value_t = db::PoolConfig::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    db_pool_size: u32,
    /// Longest a request waits for a database connection, in seconds (every connection busy,
    /// or PostgreSQL unreachable); past it the request is answered 503 `UNAVAILABLE`.
    #[arg(
        long,
        env = "CONVGRAPH_DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = db::PoolConfig::DEFAULT_ACQUIRE_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    db_acquire_timeout_secs: u64,
    /// Never touch the database's schema: check that it holds this build's migrations (when
    /// PostgreSQL answers) and serve; `convgraph migrate` or another instance applies them.
    /// Needs a database URL.
    #[arg(long, env = "CONVGRAPH_NO_MIGRATE")]
    no_migrate: bool,
    /// A streaming replica of the database for reads: queries and the live subscriptions'
    /// read-backs go there, writes and aggregates to the primary; after a token writes, its
    /// reads stay on the primary until the replica has replayed the write.
    #[arg(long, env = "CONVGRAPH_READ_DATABASE_URL", hide_env_values = true)]
    read_database_url: Option<String>,
    /// Browser origins allowed to call the API cross-origin (CORS), comma-separated, each
    /// `scheme://host[:port]`; none by default.
    #[arg(long, env = "CONVGRAPH_CORS_ORIGINS", default_value = "", value_parser = parse_cors)]
    cors_origins: api::layers::CorsConfig,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    jwks: JwksArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

fn parse_cors(list: &str) -> Result<api::layers::CorsConfig, String> {
    api::layers::CorsConfig::parse(list)
}

impl ServeArgs {
    /// The token configuration: the HS256 secret, and the JWK set when one is configured. A
    /// server needs at least one of them; the one it has are logged.
    async fn auth(&self, use_: SecretUse) -> anyhow::Result<AuthConfig> {
        let config = self.auth.config(self.auth.hs256_secret(use_)?);
        let config = match self.jwks.load().await? {
            Some(jwks) => config.with_jwks(jwks),
            None => config,
        };
        anyhow::ensure!(
            config.hs256_enabled() || config.jwks.is_some(),
            "no way to verify tokens: set CONVGRAPH_JWT_SECRET (--jwt-secret) to an HS256 secret of at least \
             32 random bytes (e.g. `openssl rand -base64 48`), or CONVGRAPH_JWKS (--jwks) to the JWK set of \
             your identity provider (a file or an https:// URL)"
        );
        if use_ == SecretUse::Development && config.hs256_enabled() {
            tracing::warn!(
                "demo: HS256 tokens verify against {}; never expose this server",
                if self.auth.jwt_secret.is_some() {
                    "the configured secret"
                } else {
                    "the public development secret"
                }
            );
        }
        tracing::info!(methods = %config.methods(), "token verification");
        Ok(config)
    }

    /// The HTTP limits; `demo` has no rate limit unless asked for one.
    fn http(&self, use_: SecretUse) -> HttpConfig {
        let default_rate = match use_ {
            SecretUse::Production => DEFAULT_RATE_PER_SECOND,
            SecretUse::Development => 0,
        };
        let per_second = self.rate_limit_per_second.unwrap_or(default_rate);
        HttpConfig {
            max_body_bytes: self.max_body_bytes,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
            max_connections: self.max_connections,
            max_concurrent_requests: self.max_concurrent_requests,
            rate_limit: (per_second > 0).then(|| RateLimit {
                per_second,
                burst: self
                    .rate_limit_burst
                    .unwrap_or(per_second.saturating_mul(2)),
            }),
        }
    }

    /// The serving pool: its size and acquire timeout, and a statement timeout a little longer
    /// than the request's own (which is cancelled first and answered 504).
    fn pool(&self, http: &HttpConfig) -> db::PoolConfig {
        db::PoolConfig {
            max_connections: self.db_pool_size,
            acquire_timeout: std::time::Duration::from_secs(self.db_acquire_timeout_secs),
            statement_timeout: http.request_timeout + std::time::Duration::from_secs(5),
        }
    }

    /// What the routes share: the serving pool, token verification, and this command's HTTP
    /// limits, query limits, write limits and browser origins.
    fn state(
        &self,
        pool: sqlx::PgPool,
        auth: AuthConfig,
        http: HttpConfig,
        limits: Limits,
    ) -> anyhow::Result<api::AppState> {
        let mut state = api::AppState::new(pool, auth).with_limits(limits);
        state.http = http;
        state.ingest = self.ingest();
        state.cors = self.cors_origins.clone();
        if let Some(url) = &self.read_database_url {
            let replica = db::connect_serving(url, self.pool(&http)).with_context(|| {
                format!(
                    "invalid read database URL {}",
                    convgraph::database::redact(url)
                )
            })?;
            tracing::info!(url = %convgraph::database::redact(url), "reads go to the replica");
            state = state.with_replica(replica);
        }
        Ok(state)
    }

    fn ingest(&self) -> IngestConfig {
        let mut config = IngestConfig {
            max_bulk_bytes: self.ingest_max_bulk_bytes,
            ..IngestConfig::default()
        };
        config.limits.max_document_bytes = self.ingest_max_document_bytes;
        config
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_) | Command::Demo { .. });
    let traces = (serving && convgraph::telemetry::configured())
        .then(convgraph::telemetry::provider)
        .transpose()?;
    init_tracing(cli.log_format, traces.as_ref());
    let result = run(cli).await;
    if let Some(provider) = traces {
        // Exports the spans still in the batch.
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let local = LocalData::Persistent(cli.data_dir.clone());
    match cli.command {
        Command::Serve(args) => {
            let auth = args.auth(SecretUse::Production).await?;
            let db = match cli.database_url.as_deref() {
                Some(url) if args.no_migrate => Database::open_without_migrating(url).await?,
                None if args.no_migrate => anyhow::bail!(
                    "--no-migrate needs --database-url (DATABASE_URL): the private local server \
                     is always migrated"
                ),
                url => Database::open(url, &local, 2).await?,
            };
            let http = args.http(SecretUse::Production);
            log_limits(&http);
            let serving = db.serving(args.pool(&http))?;
            let state = args.state(serving, auth, http, args.limits.limits(Limits::default()))?;
            server::run(state, args.listen, |addr| {
                println!("convgraph serving GraphQL at http://{addr}/graphql");
            })
            .await?;
            db.close().await
        }
        Command::Token {
            auth,
            dev,
            sub,
            divisions,
            business_units,
            permissions,
            ttl,
        } => {
            let secret = if dev {
                SecretString::from(DEVELOPMENT_SECRET)
            } else {
                anyhow::ensure!(
                    auth.jwt_hs256,
                    "HS256 is turned off (--jwt-hs256 false): there is no secret to sign with"
                );
                auth.hs256_secret(SecretUse::Production)?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "convgraph token signs with the server's HS256 secret: set CONVGRAPH_JWT_SECRET \
                         (--jwt-secret), or pass --dev for a token of the public development secret, \
                         which only `convgraph demo` accepts"
                    )
                })?
            };
            anyhow::ensure!(
                !sub.trim().is_empty(),
                "--sub: the subject must not be empty"
            );
            let request = TokenRequest {
                subject: sub,
                divisions,
                business_units,
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
                ttl_seconds: parse_ttl(&ttl)?,
            };
            println!("{}", mint(&auth.config(Some(secret)), &request)?);
            Ok(())
        }
        Command::Seed {
            conversations,
            seed,
            concurrency,
        } => {
            let db =
                Database::open(cli.database_url.as_deref(), &local, concurrency as u32 + 2).await?;
            let started = std::time::Instant::now();
            let bar = progress(conversations);
            let report = convgraph::seed::seed(
                &db.pool,
                convgraph::seed::generator(seed),
                conversations,
                concurrency,
                &bar,
            )
            .await?;
            bar.finish_and_clear();
            println!(
                "seeded {conversations} conversations (seed {seed}) in {:.1}s: imported {}, unchanged {}, replaced {}; \
                 {} Buzzeasy feed rows: imported {}, unchanged {}, replaced {}",
                started.elapsed().as_secs_f64(),
                report.imported,
                report.unchanged,
                report.replaced,
                report.feed.total(),
                report.feed.imported,
                report.feed.unchanged,
                report.feed.replaced
            );
            db.close().await
        }
        Command::Demo {
            conversations,
            serve,
        } => {
            let db = Database::open(cli.database_url.as_deref(), &LocalData::Temporary, 16).await?;
            let generator = convgraph::seed::generator(1);
            let bar = progress(conversations);
            let seeded =
                convgraph::seed::seed(&db.pool, generator.clone(), conversations, 4, &bar).await?;
            bar.finish_and_clear();
            let in_units =
                convgraph::seed::assign_business_units_from_queues(&db.pool, &generator).await?;
            let auth = serve.auth(SecretUse::Development).await?;
            let token = |divisions: Option<Vec<String>>,
                         business_units: Option<Vec<String>>,
                         permissions: &[&str]| {
                mint(
                    &auth,
                    &TokenRequest {
                        subject: "demo".into(),
                        divisions,
                        business_units,
                        permissions: permissions.iter().map(|p| p.to_string()).collect(),
                        ttl_seconds: 7 * 86_400,
                    },
                )
            };
            let universe = generator.universe();
            let division = universe.divisions()[0].clone();
            let unit = universe.business_units()[0].clone();
            let read = ["conversations:read", "pii:read"];
            let all = token(Some(vec!["*".into()]), None, &read)?;
            let one = token(Some(vec![division.id.clone()]), None, &read)?;
            let in_unit = token(None, Some(vec![unit.id.clone()]), &read)?;
            let no_pii = token(Some(vec!["*".into()]), None, &["conversations:read"])?;
            let writer = token(
                Some(vec![division.id.clone()]),
                None,
                &["conversations:read", "pii:read", "ingest:write"],
            )?;
            let limits = serve.limits.limits(Limits::demo());
            let http = serve.http(SecretUse::Development);
            log_limits(&http);
            let serving = db.serving(serve.pool(&http))?;
            let state = serve.state(serving, auth.clone(), http, limits)?;
            server::run(state, serve.listen, |addr| {
                let graphiql = |token: &str| format!("http://{addr}/graphiql#token={token}");
                println!(
                    "convgraph demo: {conversations} generated conversations ({in_units} given the business unit of their first queue) \
                     and {} rows of the Buzzeasy feed around them (workitems, agent states, queue and bot segments, …)",
                    seeded.feed.total()
                );
                println!("GraphQL endpoint:   http://{addr}/graphql (subscriptions: the same URL over a WebSocket)");
                println!("GraphiQL:           {}", graphiql(&all));
                println!("Wallboard:          http://{addr}/wallboard#token={all}");
                println!(
                    "                    (per queue: now, and today's numbers as they change; the generated \
                     conversations fall in the {} days from {}: add &day=YYYY-MM-DD for one of them)",
                    generate::DAYS,
                    &convgraph::seed::START[..10]
                );
                println!("\nTokens (Authorization: Bearer …), each with its GraphiQL link:");
                println!("  every division:\n    {all}\n    {}", graphiql(&all));
                println!(
                    "  division {} ({}) only:\n    {one}\n    {}",
                    division.name,
                    division.id,
                    graphiql(&one)
                );
                println!(
                    "  business unit {} ({}) only:\n    {in_unit}\n    {}",
                    unit.name,
                    unit.id,
                    graphiql(&in_unit)
                );
                println!(
                    "  every division, without pii:read:\n    {no_pii}\n    {}",
                    graphiql(&no_pii)
                );
                println!(
                    "  division {} only, allowed to write (ingestConversations, POST /ingest):\n    {writer}\n    {}",
                    division.id,
                    graphiql(&writer)
                );
                println!("\nTry: curl -s http://{addr}/graphql -H 'Authorization: Bearer {all}' -H 'Content-Type: application/json' \\");
                println!("  -d '{{\"query\":\"{{ conversations(first: 2) {{ totalCount nodes {{ id conversationStart participants {{ purpose sessions {{ mediaType segments {{ segmentType }} metrics {{ name value }} }} }} }} }} }}\"}}'");
                println!("\nCtrl-C stops the server and removes the demo database.");
            })
            .await?;
            db.close().await
        }
        Command::Schema => {
            print!("{}", api::sdl());
            Ok(())
        }
        Command::Migrate => {
            let db = Database::open(cli.database_url.as_deref(), &local, 2).await?;
            println!("migrations applied");
            db.close().await
        }
        Command::Import {
            paths,
            format,
            table,
            time_zone,
            concurrency,
        } => {
            let db =
                Database::open(cli.database_url.as_deref(), &local, concurrency as u32 + 2).await?;
            let options = ImportOptions {
                format,
                table,
                time_zone,
                concurrency,
                progress: true,
            };
            let report = import_paths(&db.pool, &paths, &options)
                .await
                .context("import failed")?;
            print!("{report}");
            db.close().await?;
            if report.rejected.is_empty() {
                Ok(())
            } else {
                std::process::exit(2)
            }
        }
    }
}

/// The log on stderr (`RUST_LOG`), and the trace export when it is configured.
fn init_tracing(format: LogFormat, traces: Option<&opentelemetry_sdk::trace::SdkTracerProvider>) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let log_filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "convgraph=info,db=info,api=info,warn".into());
    let log = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(log.with_filter(log_filter))
        .with(traces.map(convgraph::telemetry::layer))
        .init();
    if traces.is_some() {
        tracing::info!("traces: exported over OTLP");
    }
}

/// The connection and request limits in force, for the start-up log.
fn log_limits(http: &HttpConfig) {
    tracing::info!(
        max_connections = http.max_connections,
        max_concurrent_requests = http.max_concurrent_requests,
        header_read_timeout_s = http.header_read_timeout.as_secs(),
        rate_limit = %http.rate_limit.map_or("off".into(), |r| format!("{}/s, bursts of {}", r.per_second, r.burst)),
        "connection limits"
    );
}

/// `30m`, `1h`, `7d` or plain seconds.
fn parse_ttl(ttl: &str) -> anyhow::Result<i64> {
    let (number, unit) = ttl.split_at(ttl.find(|c: char| !c.is_ascii_digit()).unwrap_or(ttl.len()));
    let n: i64 = number
        .parse()
        .with_context(|| format!("--ttl {ttl:?}: expected e.g. 30m, 1h, 7d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("--ttl {ttl:?}: unit must be s, m, h or d"),
    };
    Ok(n * factor)
}

fn progress(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} conversations",
    ) {
        bar.set_style(style);
    }
    bar
}

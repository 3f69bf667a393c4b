//! The real `convgraph serve` binary as a child process on a free port: for the tests of what
//! the binary itself sets up (its subscriber and metrics, its flags, its pool).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// The HS256 secret the child serves with.
pub const SECRET: &str = "convgraph-process-test-secret-of-32-bytes";

/// `convgraph serve` on a free port; killed when dropped.
pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// `convgraph serve` against `database_url` with [`SECRET`].
    pub fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[], &[])
    }

    /// Like [`ServeProcess::start`], with more arguments and environment variables.
    pub fn start_with(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(database_url, args, env, Stdio::inherit())
    }

    /// Like [`ServeProcess::start_with`], its log (stderr) written to `log`.
    pub fn start_logging_to(
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        Self::spawn(database_url, args, env, Stdio::from(file))
    }

    fn spawn(database_url: &str, args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_convgraph"));
        command
            .arg("serve")
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("CONVGRAPH_JWT_SECRET", SECRET)
            .env("CONVGRAPH_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start convgraph serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the serving line");
        // "convgraph serving GraphQL at http://127.0.0.1:PORT/graphql"
        let base = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|url| url.strip_suffix("/graphql"))
            .unwrap_or_else(|| panic!("unexpected first line of serve: {line:?}"))
            .to_owned();
        ServeProcess { child, base }
    }

    /// A token of [`SECRET`] for every division, with `permissions`.
    pub fn token(permissions: &[&str]) -> String {
        api::auth::mint(
            &api::auth::AuthConfig::hs256(SECRET),
            &api::auth::TokenRequest {
                subject: "process-test".into(),
                divisions: Some(vec!["*".into()]),
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
                ttl_seconds: 600,
                ..Default::default()
            },
        )
        .expect("token")
    }
}

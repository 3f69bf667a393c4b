//! convgraph: a GraphQL gateway over a contact center's conversation graph. The commands of
//! the binary live here, so that tests drive exactly what users run.

pub mod database;
pub mod import;
pub mod seed;
pub mod server;
pub mod telemetry;

//! Pure types and rules of convgraph's conversation graph: source documents, the rows they
//! become, validation and scope. No IO here (the data generator is the `generate` crate).

#[macro_use]
pub mod row;

pub mod aggregate;
pub mod buzzeasy;
pub mod catalog;
pub mod error;
pub mod facts;
pub mod flow_metrics;
pub mod genesys;
pub mod graph;
pub mod ingest;
pub mod reader;
pub mod scope;
pub use error::DocumentError;
pub use graph::ConversationGraph;
pub use row::Personal;
pub use scope::Scope;

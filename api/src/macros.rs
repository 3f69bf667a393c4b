//! Macros the GraphQL types share.

/// A GraphQL type that is its row (every column, flattened) plus `extra`, and nothing else.
macro_rules! leaf_object {
    ($(#[$meta:meta])* $name:ident($row:ty)) => {
        pub struct $name(pub $row);

        $(#[$meta])*
        #[async_graphql::Object]
        impl $name {
            #[graphql(flatten)]
            async fn fields(&self) -> &$row {
                &self.0
            }
            /// Source fields convgraph has no column for, exactly as sent; empty without the
            /// `pii:read` permission, since they may hold personal data.
            async fn extra(&self) -> async_graphql::Json<&serde_json::Map<String, serde_json::Value>> {
                async_graphql::Json(&self.0.extra)
            }
        }
    };
}

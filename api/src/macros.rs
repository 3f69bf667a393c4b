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

/// `OutputType` for a [`crate::plain::Plain`] type: its schema entry is that of `$twin` (a
/// derived object with the same name and fields, never built), its value built in one pass.
macro_rules! plain_output {
    ($ty:ty, $twin:ty) => {
        impl async_graphql::OutputType for $ty {
            fn type_name() -> std::borrow::Cow<'static, str> {
                <$twin as async_graphql::OutputType>::type_name()
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                <$twin as async_graphql::OutputType>::create_type_info(registry)
            }

            async fn resolve(
                &self,
                ctx: &async_graphql::ContextSelectionSet<'_>,
                _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> async_graphql::ServerResult<async_graphql::Value> {
                Ok($crate::plain::resolve(ctx, self))
            }
        }
    };
}

//! Macros the GraphQL types share.

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

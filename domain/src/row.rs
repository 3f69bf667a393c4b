//! `row!`: declares the row type of one table from its source fields.
//!
//! A row has its key columns (filled by the parser) and its source fields, each given as
//! `"sourceKey" => column_name: kind`. The field names are the column names of the table, so a
//! row serialises straight into `jsonb_populate_recordset` and back out of `to_jsonb`. The
//! generated `read_fields` reads every source field through [`crate::reader::Obj`]; what the
//! source sent beyond them goes to `extra`.
//!
//! A field or key marked `[personal]` holds a value that can identify a customer (a phone
//! number, an address, a name, free text): [`Personal::redact_personal`] clears those, and
//! `extra`, whose content is unknown, for callers without the permission to read personal data.
//!
//! With the `graphql` feature every row is also a (hidden) GraphQL object whose fields are its
//! columns in camelCase; the API flattens it into the public type, so a column added here is
//! served without further code.

macro_rules! field_type {
    (str) => { Option<String> };
    (enumeration) => { Option<String> };
    (time) => { Option<chrono::DateTime<chrono::Utc>> };
    (localtime) => { Option<chrono::NaiveDateTime> };
    (int) => { Option<i64> };
    (float) => { Option<f64> };
    (bool) => { Option<bool> };
    (strs) => { Option<Vec<String>> };
    (ints) => { Option<Vec<i64>> };
    (json) => { Option<serde_json::Value> };
}

macro_rules! row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            keys { $( $(#[doc = $kdoc:literal])* $key:ident : $kty:ty $([$kflag:ident])? ),* $(,)? }
            fields {
                $( $(#[doc = $fdoc:literal])* $src:literal => $field:ident : $kind:ident $([$fflag:ident])? ),*
                $(,)?
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
        #[cfg_attr(feature = "graphql", graphql(visible = false))]
        #[serde(default)]
        pub struct $name {
            $( $(#[doc = $kdoc])* pub $key: $kty, )*
            $( $(#[doc = $fdoc])* pub $field: field_type!($kind), )*
            /// Source fields without a column of their own, as sent. Empty for callers without
            /// the permission to read personal data, since they may hold some.
            #[cfg_attr(feature = "graphql", graphql(skip))]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// Source key -> column, for every source field of this row.
            pub const SOURCE_FIELDS: &'static [(&'static str, &'static str)] =
                &[ $( ($src, stringify!($field)) ),* ];

            /// Source key -> kind (`str`, `int`, `time`, …), for readers of untyped sources (CSV).
            pub const FIELD_KINDS: &'static [(&'static str, &'static str)] =
                &[ $( ($src, stringify!($kind)) ),* ];

            /// The columns of source fields that hold UTC times (`time`), but `deleted_at`: the
            /// times a row's version is read from.
            pub fn time_columns() -> Vec<&'static str> {
                Self::SOURCE_FIELDS
                    .iter()
                    .zip(Self::FIELD_KINDS)
                    .filter(|((_, column), (_, kind))| *kind == "time" && *column != "deleted_at")
                    .map(|((_, column), _)| *column)
                    .collect()
            }

            /// Every column of the table but `extra`, in declaration order (keys first): what
            /// the catalogue ([`crate::catalog`]) serves and the GraphQL type lists.
            pub const COLUMNS: &'static [$crate::catalog::Column] = &[
                $( $crate::catalog::Column {
                    name: stringify!($key),
                    kind: <$kty as $crate::catalog::ColumnType>::KIND,
                    required: <$kty as $crate::catalog::ColumnType>::REQUIRED,
                    doc: &[$($kdoc),*],
                    personal: is_personal!($($kflag)?),
                }, )*
                $( $crate::catalog::Column {
                    name: stringify!($field),
                    kind: <field_type!($kind) as $crate::catalog::ColumnType>::KIND,
                    required: false,
                    doc: &[$($fdoc),*],
                    personal: is_personal!($($fflag)?),
                }, )*
            ];

            /// The columns marked `[personal]`.
            pub const PERSONAL: &'static [&'static str] = &[
                $( $( personal!($kflag, stringify!($key)), )? )*
                $( $( personal!($fflag, stringify!($field)), )? )*
            ];

            /// Reads every source field of this row from `o`; keys are left to the caller.
            #[allow(unused_variables)]
            pub fn read_fields(
                o: &mut $crate::reader::Obj<'_>,
            ) -> Result<Self, $crate::error::DocumentError> {
                Ok(Self {
                    $( $field: o.$kind($src)?, )*
                    ..Default::default()
                })
            }
        }

        impl $crate::row::Personal for $name {
            fn redact_personal(&mut self) {
                $( $( personal!($kflag, self.$key = Default::default()); )? )*
                $( $( personal!($fflag, self.$field = None); )? )*
                self.extra.clear();
            }
        }
    };
}

/// Accepts only the marker `personal`, and expands to the expression it marks.
macro_rules! personal {
    (personal, $e:expr) => {
        $e
    };
}

/// `true` for the marker `personal`, `false` without a marker.
macro_rules! is_personal {
    () => {
        false
    };
    (personal) => {
        true
    };
}

/// Rows that may hold personal data.
pub trait Personal {
    /// Clears every value that could identify a customer: the `[personal]` columns and `extra`.
    fn redact_personal(&mut self);
}

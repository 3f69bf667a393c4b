//! What a caller may see: every conversation, or those of some divisions or business units.

use std::collections::BTreeSet;

/// The visibility of a caller. A conversation is visible when the scope is all, or one of its
/// divisions is in scope, or its business unit is in scope. Deny by default: a scope with no
/// divisions and no business units sees nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Limited {
        divisions: BTreeSet<String>,
        business_units: BTreeSet<String>,
    },
}

impl Scope {
    pub fn nothing() -> Self {
        Scope::Limited {
            divisions: BTreeSet::new(),
            business_units: BTreeSet::new(),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// The division ids in scope (empty for `All`, which `is_all` covers).
    pub fn division_ids(&self) -> Vec<String> {
        match self {
            Scope::All => Vec::new(),
            Scope::Limited { divisions, .. } => divisions.iter().cloned().collect(),
        }
    }

    /// The business unit ids in scope (empty for `All`, which `is_all` covers).
    pub fn business_unit_ids(&self) -> Vec<String> {
        match self {
            Scope::All => Vec::new(),
            Scope::Limited { business_units, .. } => business_units.iter().cloned().collect(),
        }
    }

    /// The rule, in Rust: what the SQL filters enforce.
    pub fn sees(&self, division_ids: &[String], business_unit_id: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Limited {
                divisions,
                business_units,
            } => {
                division_ids.iter().any(|d| divisions.contains(d))
                    || business_unit_id.is_some_and(|b| business_units.contains(b))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limited(d: &[&str], b: &[&str]) -> Scope {
        Scope::Limited {
            divisions: d.iter().map(|s| s.to_string()).collect(),
            business_units: b.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn an_empty_scope_sees_nothing() {
        assert!(!Scope::nothing().sees(&["a".into()], Some("x")));
        assert!(!Scope::nothing().sees(&[], None));
    }

    #[test]
    fn a_conversation_in_no_division_is_seen_only_by_all_or_its_business_unit() {
        assert!(Scope::All.sees(&[], None));
        assert!(!limited(&["a"], &[]).sees(&[], None));
        assert!(limited(&[], &["x"]).sees(&[], Some("x")));
    }

    proptest! {
        #[test]
        fn visible_exactly_when_a_division_or_the_business_unit_is_in_scope(
            scope_d in proptest::collection::btree_set("[a-d]", 0..3),
            scope_b in proptest::collection::btree_set("[x-z]", 0..2),
            conv_d in proptest::collection::vec("[a-d]", 0..3),
            conv_b in proptest::option::of("[x-z]"),
        ) {
            let scope = Scope::Limited { divisions: scope_d.clone(), business_units: scope_b.clone() };
            let expected = conv_d.iter().any(|d| scope_d.contains(d))
                || conv_b.as_ref().is_some_and(|b| scope_b.contains(b));
            prop_assert_eq!(scope.sees(&conv_d, conv_b.as_deref()), expected);
        }
    }
}

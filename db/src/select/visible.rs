//! The scope predicate, from the catalogue's visibility rules: the one place where "who may see
//! this row" becomes SQL (DESIGN §3.4). Every read of a scoped row goes through [`restrict`].

use domain::Scope;
use domain::catalog::{Table, Visibility, table};

use crate::sql::Sql;

/// The caller's scope as parameters of one statement, bound once and referred to at every hop.
pub enum ScopeParams {
    All,
    Limited {
        /// Placeholder of the division ids (`text[]`).
        divisions: String,
        /// Placeholder of the business unit ids (`text[]`).
        units: String,
    },
}

impl ScopeParams {
    pub fn bind(sql: &mut Sql, scope: &Scope) -> Self {
        if scope.is_all() {
            ScopeParams::All
        } else {
            ScopeParams::Limited {
                divisions: sql.bind(scope.division_ids()),
                units: sql.bind(scope.business_unit_ids()),
            }
        }
    }
}

/// Appends ` and (…)`: the row `alias` of `table` is visible. Nothing for a scope of all.
pub fn restrict(sql: &mut Sql, params: &ScopeParams, table: &Table, alias: &str, next: &mut usize) {
    if let ScopeParams::Limited { divisions, units } = params {
        sql.push(" and ");
        rule(sql, divisions, units, &table.visibility, alias, next);
    }
}

fn rule(
    sql: &mut Sql,
    divisions: &str,
    units: &str,
    visibility: &Visibility,
    alias: &str,
    next: &mut usize,
) {
    match visibility {
        Visibility::Conversation => {
            sql.push("(")
                .ident(alias)
                .push(".division_ids && ")
                .push(divisions);
            sql.push(" or ")
                .ident(alias)
                .push(".business_unit_id = any(")
                .push(units)
                .push("))");
        }
        Visibility::OwnUnit(column) => {
            sql.ident(alias)
                .push(".")
                .ident(column)
                .push(" = any(")
                .push(units)
                .push(")");
        }
        Visibility::OwnDivision(column) => {
            sql.ident(alias)
                .push(".")
                .ident(column)
                .push(" = any(")
                .push(divisions)
                .push(")");
        }
        Visibility::OwnDivisions(column) => {
            sql.ident(alias)
                .push(".")
                .ident(column)
                .push(" && ")
                .push(divisions);
        }
        Visibility::Through {
            table: name,
            on,
            when,
        } => {
            let other = table(name).unwrap_or_else(|| panic!("visibility through unknown {name}"));
            *next += 1;
            let inner = format!("v{next}");
            sql.push("exists (select from ")
                .ident(other.name)
                .push(" ")
                .ident(&inner);
            sql.push(" where ");
            for (i, (here, there)) in on.iter().enumerate() {
                if i > 0 {
                    sql.push(" and ");
                }
                sql.ident(&inner).push(".").ident(there).push(" = ");
                sql.ident(alias).push(".").ident(here);
            }
            if let Some(flag) = when {
                sql.push(" and ").ident(&inner).push(".").ident(flag);
            }
            sql.push(" and ");
            rule(sql, divisions, units, &other.visibility, &inner, next);
            sql.push(")");
        }
        Visibility::AnyOf(rules) => {
            sql.push("(");
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    sql.push(" or ");
                }
                rule(sql, divisions, units, r, alias, next);
            }
            sql.push(")");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn predicate(table_name: &str) -> String {
        let scope = Scope::Limited {
            divisions: BTreeSet::from(["d".to_owned()]),
            business_units: BTreeSet::from(["u".to_owned()]),
        };
        let mut sql = Sql::new();
        let params = ScopeParams::bind(&mut sql, &scope);
        restrict(
            &mut sql,
            &params,
            table(table_name).expect("table"),
            "t",
            &mut 0,
        );
        sql.text().to_owned()
    }

    #[test]
    fn a_child_of_a_conversation_is_visible_through_its_conversation() {
        assert_eq!(
            predicate("segments"),
            " and exists (select from conversations v1 where v1.conversation_id = t.conversation_id \
             and (v1.division_ids && $1 or v1.business_unit_id = any($2)))"
        );
    }

    #[test]
    fn a_flow_metric_is_visible_by_its_divisions_or_its_conversation() {
        let p = predicate("flow_metrics");
        assert!(
            p.starts_with(" and (t.division_ids && $1 or exists (select from conversations v1")
        );
    }

    #[test]
    fn a_scope_of_all_adds_nothing() {
        let mut sql = Sql::new();
        let params = ScopeParams::bind(&mut sql, &Scope::All);
        restrict(
            &mut sql,
            &params,
            table("workitems").expect("table"),
            "t",
            &mut 0,
        );
        assert_eq!(sql.text(), "");
    }
}

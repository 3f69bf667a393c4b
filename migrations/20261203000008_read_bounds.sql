-- Reads pushed down into SQL (db/src/select) refuse a list longer than its relation's bound
-- (`Relation::most` in the catalogue) rather than cut it short: the statement calls this when
-- a subquery finds more rows than the bound allows. The error carries its own SQLSTATE, which
-- the API turns into a clear `LIST_TOO_LONG` error naming the relation and the bound.
--
-- Volatile on purpose: an immutable function with constant arguments would be evaluated while
-- the statement is planned, and would raise whether or not the list is long.
create function convgraph_list_too_long(relation text, most integer) returns json
language plpgsql volatile as $$
begin
    raise exception 'the list % holds more than % items', relation, most
        using errcode = 'CG001', detail = relation, hint = most::text;
end
$$;

-- Bot steps are visible through the bot segments that went through them: look those up by step.
create index bot_segments_bot_step on bot_segments (bot_step_id);

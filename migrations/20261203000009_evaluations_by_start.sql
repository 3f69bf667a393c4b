-- The `evaluations` root lists workitem evaluations in (started_at, workitem_id, evaluation_id)
-- order, a page at a time: walk that order on an index instead of sorting the table.
create index workitem_evaluations_started on workitem_evaluations (started_at, workitem_id, evaluation_id);

-- The sync engine keeps each user's last full Microsoft Graph object next to its rendered body:
-- Graph delta rounds return only the properties that changed, so the next round merges them into
-- this copy. NULL for users that did not come from Graph (imports). Page reads never select it.
ALTER TABLE end_users ADD COLUMN source text;

-- Finished tasks are pruned by age (scheduled syncs record one every few minutes).
CREATE INDEX tasks_completed_at ON tasks (completed_at) WHERE completed_at IS NOT NULL;

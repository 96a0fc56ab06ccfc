-- 007: planner-engine: when each task was finished (tasks.completed_at), for the observer's reflections.
--
-- Why a column of its own: updated_at moves with every write to a task (a re-import, a replan, the
-- scheduler's report), so "done on Tuesday" cannot be read from it, and the status alone does not say when.
--
-- Why a trigger: a task's status is written by several statements (the Coda import's upsert, a plan moved
-- to done or cancelled, the scheduler's reports, and whatever comes next). The rule lives in one place that
-- none of them can forget: completed_at is now() when the status becomes 'done', kept while it stays
-- 'done', NULL whenever it is anything else. The CHECK states the same rule, so a row can never break it.
--
-- Tasks already done when this runs get their updated_at, the best guess there is. The touch trigger is
-- off for that one statement, so the backfill does not make every done task look updated today.

ALTER TABLE tasks ADD COLUMN IF NOT EXISTS completed_at timestamptz;

ALTER TABLE tasks DISABLE TRIGGER tasks_touch_updated_at;
UPDATE tasks SET completed_at = updated_at WHERE status = 'done' AND completed_at IS NULL;
ALTER TABLE tasks ENABLE TRIGGER tasks_touch_updated_at;

CREATE OR REPLACE FUNCTION pma_task_completed_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'done' THEN
        NEW.completed_at := NULL;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'done' THEN
        NEW.completed_at := coalesce(OLD.completed_at, now());
    ELSE
        NEW.completed_at := now();
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS tasks_completed_at ON tasks;
CREATE TRIGGER tasks_completed_at BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION pma_task_completed_at();

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_completed_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_completed_check CHECK ((status = 'done') = (completed_at IS NOT NULL));

-- The observer reads what a user finished in a day or a week.
CREATE INDEX IF NOT EXISTS tasks_user_completed_idx ON tasks (user_id, completed_at) WHERE completed_at IS NOT NULL;

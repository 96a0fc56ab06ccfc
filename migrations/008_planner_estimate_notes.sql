-- plans.estimate_notes: why the plan's estimates differ from the planner's base figures (the observer's
-- insights and the user's execution history it applied), one sentence per insight or rule, so that the
-- plan still says why when it is read later (docs/planner.md, "Estimates"). Kept like `warnings`.
ALTER TABLE plans ADD COLUMN IF NOT EXISTS estimate_notes text[] NOT NULL DEFAULT '{}';

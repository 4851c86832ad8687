-- SPDX-License-Identifier: MIT
-- 0006: an apply's intent names who decided (resolver, rule) and the resolution's
-- text, so that recover(), finishing an apply a crash cut short, records the
-- same history row the apply would have (`hoard conflicts --resolved`).
-- NULL for every other intent and for those recorded before this migration.
ALTER TABLE intents ADD COLUMN resolver TEXT;
ALTER TABLE intents ADD COLUMN rule TEXT;
ALTER TABLE intents ADD COLUMN label TEXT;

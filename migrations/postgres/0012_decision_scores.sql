-- The learned models' scores of each decided comment ({"scam": 0.12, ...}), for the review
-- page's queue of comments the rules were unsure of. NULL for decisions made before.
ALTER TABLE decisions ADD COLUMN scores TEXT;

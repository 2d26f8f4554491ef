-- What each rule says, as a hash (see src/rules/load/version.rs), and since when: the safety
-- net for careless edits counts a rule as edited when this changes, not when its file was
-- rewritten. scope: '' for the default rules folder, else the account id whose folder holds
-- the rule. since: unix milliseconds when this version was first seen; 0 for the versions
-- found at the first start, which count as old.
CREATE TABLE rule_versions (
    scope TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    version TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (scope, rule_id)
);

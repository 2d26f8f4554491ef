-- Every version of each rule (a hash of what it says, see src/rules/load/version.rs) and when
-- any instance first saw it: the safety net for careless edits counts a rule as edited when
-- its version is new, not when its file was rewritten. scope: '' for the default rules folder,
-- else the account id whose folder holds the rule. since: unix milliseconds; 0 for the
-- versions found at the first start, which count as old.
CREATE TABLE rule_versions (
    scope TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    version TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (scope, rule_id, version)
);

-- A write's lookup of candidate duplicates (kind and key equal, newest contact ids first)
-- must read the primary key. Planned on the statistics of a table filled from empty,
-- PostgreSQL walked duplicate_keys_contact backwards instead (it yields contact ids in
-- order too) and filtered the tenant's every key: a 100k import ran for minutes. A hash
-- index finds a contact's keys (to delete them) as fast and yields no order, so no plan
-- can take that way.
DROP INDEX duplicate_keys_contact;
CREATE INDEX duplicate_keys_contact ON duplicate_keys USING hash (contact_id);

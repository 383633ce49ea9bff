-- The writes of one transfer in payd's ledger, reduced to what pgbench can
-- run: two balance rows, a journal row, two entries. 10,000 accounts.
DROP TABLE IF EXISTS pb_entries, pb_journal, pb_balances;
CREATE TABLE pb_balances (account bigint PRIMARY KEY, balance bigint NOT NULL, version bigint NOT NULL);
CREATE TABLE pb_journal (id bigserial PRIMARY KEY, from_account bigint NOT NULL, to_account bigint NOT NULL,
                         amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE pb_entries (number bigserial PRIMARY KEY, account bigint NOT NULL, sequence bigint NOT NULL,
                         transfer bigint NOT NULL, amount bigint NOT NULL, balance_after bigint NOT NULL);
CREATE INDEX pb_entries_by_account ON pb_entries (account, sequence);
INSERT INTO pb_balances SELECT g, 1000000000, 0 FROM generate_series(1, 10000) AS g;

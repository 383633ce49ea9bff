-- The textbook design: one transaction per transfer.
\set from random(1, 10000)
\set to random(1, 10000)
\set amount random(1, 1000)
BEGIN;
UPDATE pb_balances SET balance = balance - :amount, version = version + 1 WHERE account = :from RETURNING balance AS from_balance, version AS from_version \gset
UPDATE pb_balances SET balance = balance + :amount, version = version + 1 WHERE account = :to RETURNING balance AS to_balance, version AS to_version \gset
INSERT INTO pb_journal (from_account, to_account, amount) VALUES (:from, :to, :amount) RETURNING id AS journal \gset
INSERT INTO pb_entries (account, sequence, transfer, amount, balance_after) VALUES (:from, :from_version, :journal, -:amount, :from_balance), (:to, :to_version, :journal, :amount, :to_balance);
COMMIT;

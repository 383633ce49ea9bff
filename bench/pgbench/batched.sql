-- The database's own ceiling for group commit: 100 transfers per
-- transaction, set-based (each balance row written once per transaction).
BEGIN;
WITH transfers AS (
  SELECT g AS n, 1 + floor(random() * 10000)::bigint AS from_account, 1 + floor(random() * 10000)::bigint AS to_account,
         1 + floor(random() * 1000)::bigint AS amount
  FROM generate_series(1, 100) AS g),
legs AS (
  SELECT from_account AS account, -amount AS amount, n FROM transfers
  UNION ALL SELECT to_account, amount, n FROM transfers),
changes AS (SELECT account, sum(amount) AS amount, count(*) AS legs FROM legs GROUP BY account ORDER BY account),
updated AS (
  UPDATE pb_balances b SET balance = b.balance + c.amount, version = b.version + c.legs
  FROM changes c WHERE b.account = c.account RETURNING b.account, b.balance, b.version),
journal AS (
  INSERT INTO pb_journal (from_account, to_account, amount) SELECT from_account, to_account, amount FROM transfers
  RETURNING id)
INSERT INTO pb_entries (account, sequence, transfer, amount, balance_after)
SELECT l.account, u.version, l.n, l.amount, u.balance FROM legs l JOIN updated u ON u.account = l.account;
COMMIT;

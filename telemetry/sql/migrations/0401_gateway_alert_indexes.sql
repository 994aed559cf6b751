-- gateway: the alert queue is read newest-activity first; these indexes make its
-- first page an index scan however many alerts exist (bench/gateway.py).
CREATE INDEX IF NOT EXISTS gateway_alerts_recent ON alerts (last_seen DESC, id DESC);
CREATE INDEX IF NOT EXISTS gateway_alerts_active_recent ON alerts (last_seen DESC, id DESC)
    WHERE status <> 'resolved';

-- Reassigning an alert (alerts.lifecycle.assign) is its own feed event.
ALTER TABLE alert_events DROP CONSTRAINT alert_events_event_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_event_check
    CHECK (event IN ('raised', 'escalated', 'recurred', 'condition_ended', 'cleared',
                     'acknowledged', 'resolved', 'reopened', 'assigned'));

-- Telemetry store, common to both layouts: readings, latest state, dead letters,
-- and the helper aggregates the hourly rollups are defined with.
--
-- metrics is JSONB, not a narrow (device_id, ts, name, value) table: metrics are
-- sparse and class-specific (a collar has activity and body_temp_c, a genset
-- power_kw and energy_kwh), typically 0-4 per reading. A narrow table would
-- multiply the row count and the COPY volume by that factor and need a join or
-- a pivot for every rollup; JSONB keeps one row per reading, compresses well in
-- TimescaleDB's columnar chunks, and the rollups read known keys with ->>.

CREATE TABLE readings (
    device_id    text             NOT NULL,
    ts           timestamptz      NOT NULL,
    received_at  timestamptz,
    seq          bigint,
    lat          double precision,
    lon          double precision,
    alt_m        double precision,
    speed_kmh    double precision,
    heading_deg  double precision,
    hdop         double precision,
    sats         smallint,
    ignition     boolean,
    engine_on    boolean,
    engine_hours double precision,
    odometer_km  double precision,
    fuel_pct     double precision,
    battery_v    double precision,
    ext_power    boolean,
    tamper       boolean,
    alarms       text[],
    metrics      jsonb,
    source       text             NOT NULL DEFAULT 'json',
    topic        text,
    message_id   text,
    late         boolean          NOT NULL DEFAULT false,
    -- seq when the terminal sends one, else a 64-bit hash of the content:
    -- at-least-once delivery stores a reading once.
    dedup_key    bigint           NOT NULL
);

-- The dedup key, and the access path of every per-device time-range query.
CREATE UNIQUE INDEX readings_device_ts_key ON readings (device_id, ts, dedup_key);

-- Newest reading per device BY EVENT TIME (a late, older reading never replaces it).
CREATE TABLE latest_state (
    device_id        text PRIMARY KEY,
    ts               timestamptz      NOT NULL,
    received_at      timestamptz,
    seq              bigint,
    lat              double precision,
    lon              double precision,
    alt_m            double precision,
    speed_kmh        double precision,
    heading_deg      double precision,
    hdop             double precision,
    sats             smallint,
    ignition         boolean,
    engine_on        boolean,
    engine_hours     double precision,
    odometer_km      double precision,
    fuel_pct         double precision,
    battery_v        double precision,
    ext_power        boolean,
    tamper           boolean,
    alarms           text[],
    metrics          jsonb,
    source           text             NOT NULL,
    topic            text,
    message_id       text,
    late             boolean          NOT NULL DEFAULT false,
    dedup_key        bigint           NOT NULL,
    -- newest receive time of any stored reading, whatever its event time
    last_received_at timestamptz
);

CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text,
    payload     bytea,
    reason      text        NOT NULL,
    stage       text        NOT NULL
        CHECK (stage IN ('decode', 'validate', 'identify', 'write')),
    device_id   text
);
CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
CREATE INDEX dead_letters_device ON dead_letters (device_id) WHERE device_id IS NOT NULL;

-- Great-circle distance in metres (haversine, mean Earth radius 6371008.8 m).
CREATE FUNCTION aw_haversine_m(lat1 float8, lon1 float8, lat2 float8, lon2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 2 * 6371008.8 * asin(least(1.0, sqrt(
        sin(radians(lat2 - lat1) / 2) ^ 2
        + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- Path length of positions fed in time order: aw_path_m(lat, lon ORDER BY ts, lat, lon).
-- State {prev_lat, prev_lon, metres}; rows without a position are skipped.
CREATE FUNCTION aw_path_step(s float8[], lat float8, lon float8)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN lat IS NULL OR lon IS NULL THEN s
        WHEN cardinality(s) = 0 THEN ARRAY[lat, lon, 0]
        ELSE ARRAY[lat, lon, s[3] + aw_haversine_m(s[1], s[2], lat, lon)]
    END
$$;
CREATE FUNCTION aw_path_final(s float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(s) = 0 THEN 0 ELSE s[3] END
$$;
CREATE AGGREGATE aw_path_m(float8, float8) (
    SFUNC = aw_path_step, STYPE = float8[], FINALFUNC = aw_path_final, INITCOND = '{}'
);

-- Minutes a condition held, fed in time order: aw_minutes(ts, flag ORDER BY ts, flag).
-- Each reading stands for the time to the next one, at most 600 s (a longer gap
-- is missing data, not operation); the last reading of the bucket stands for
-- the last positive gap seen (60 s when it is the only reading). The total is
-- capped at 60 minutes. Exact for any regular cadence up to 10 minutes.
-- State {prev_epoch, prev_flag, seconds, last_positive_gap}.
CREATE FUNCTION aw_minutes_step(s float8[], ts timestamptz, flag boolean)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN ts IS NULL THEN s
        WHEN cardinality(s) = 0
            THEN ARRAY[extract(epoch FROM ts)::float8, coalesce(flag, false)::int::float8, 0, 0]
        ELSE ARRAY[
            extract(epoch FROM ts)::float8,
            coalesce(flag, false)::int::float8,
            s[3] + CASE WHEN s[2] = 1
                        THEN least(extract(epoch FROM ts)::float8 - s[1], 600) ELSE 0 END,
            CASE WHEN extract(epoch FROM ts)::float8 > s[1]
                 THEN extract(epoch FROM ts)::float8 - s[1] ELSE s[4] END]
    END
$$;
CREATE FUNCTION aw_minutes_final(s float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(s) = 0 THEN 0
        ELSE least(3600, s[3] + CASE WHEN s[2] = 1
                                     THEN least(CASE WHEN s[4] > 0 THEN s[4] ELSE 60 END, 600)
                                     ELSE 0 END) / 60.0
    END
$$;
CREATE AGGREGATE aw_minutes(timestamptz, boolean) (
    SFUNC = aw_minutes_step, STYPE = float8[], FINALFUNC = aw_minutes_final, INITCOND = '{}'
);

-- Value of the earliest / latest row whose first argument is not null; order
-- independent (ties on ts go to the smaller / larger (a, b) pair), so no ORDER BY
-- is needed. aw_first_a returns a, aw_first_b returns b of the same row, so a
-- position's lat and lon always come from one reading. State {epoch, a, b}.
CREATE FUNCTION aw_first_step(s float8[], ts timestamptz, a float8, b float8)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN ts IS NULL OR a IS NULL THEN s
        WHEN cardinality(s) = 0
          OR (extract(epoch FROM ts)::float8, a, coalesce(b, 0)) < (s[1], s[2], coalesce(s[3], 0))
            THEN ARRAY[extract(epoch FROM ts)::float8, a, b]
        ELSE s
    END
$$;
CREATE FUNCTION aw_last_step(s float8[], ts timestamptz, a float8, b float8)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN ts IS NULL OR a IS NULL THEN s
        WHEN cardinality(s) = 0
          OR (extract(epoch FROM ts)::float8, a, coalesce(b, 0)) > (s[1], s[2], coalesce(s[3], 0))
            THEN ARRAY[extract(epoch FROM ts)::float8, a, b]
        ELSE s
    END
$$;
CREATE FUNCTION aw_pick_a(s float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(s) = 0 THEN NULL ELSE s[2] END
$$;
CREATE FUNCTION aw_pick_b(s float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(s) = 0 THEN NULL ELSE s[3] END
$$;
CREATE AGGREGATE aw_first_a(timestamptz, float8, float8) (
    SFUNC = aw_first_step, STYPE = float8[], FINALFUNC = aw_pick_a, INITCOND = '{}'
);
CREATE AGGREGATE aw_first_b(timestamptz, float8, float8) (
    SFUNC = aw_first_step, STYPE = float8[], FINALFUNC = aw_pick_b, INITCOND = '{}'
);
CREATE AGGREGATE aw_last_a(timestamptz, float8, float8) (
    SFUNC = aw_last_step, STYPE = float8[], FINALFUNC = aw_pick_a, INITCOND = '{}'
);
CREATE AGGREGATE aw_last_b(timestamptz, float8, float8) (
    SFUNC = aw_last_step, STYPE = float8[], FINALFUNC = aw_pick_b, INITCOND = '{}'
);

package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func (q *q) AppendAudit(ctx context.Context, entries ...*roster.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	// Taking the numbers locks the counter row until commit: a second writer waits here,
	// so sequence numbers are handed out in commit order and a reader paging with
	// after=SEQ can never see n+1 before n is visible.
	var last int64
	if err := q.w.QueryRowContext(ctx, "UPDATE audit_counter SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq",
		int64(len(entries))).Scan(&last); err != nil {
		return q.wrap("store.AppendAudit", err)
	}
	first := last - int64(len(entries)) + 1
	if q.e.ArrayInserts {
		return q.appendAuditArrays(ctx, first, entries)
	}
	const ncols = 13
	vals := make([]any, 0, min(len(entries), batchSize)*ncols)
	for start := 0; start < len(entries); start += batchSize {
		chunk := entries[start:min(start+batchSize, len(entries))]
		vals = vals[:0]
		for i, e := range chunk {
			e.Seq = first + int64(start+i)
			e.At = dbTime(e.At)
			enc := e.EncodedChanges
			if enc == nil {
				var err error
				if enc, err = roster.MarshalChanges(e.Changes); err != nil {
					return roster.Internal("store.AppendAudit", err)
				}
			}
			vals = append(vals, e.Seq, e.At, e.ActorID, e.ActorName, e.KeyID, e.Via, e.RequestID, e.ClientIP, e.Action,
				e.TargetType, e.TargetID, e.TargetName, string(enc))
		}
		_, err := q.batchExec(ctx, `INSERT INTO audit_log (seq, at, actor_id, actor_name, key_id, via, request_id, client_ip,
			action, target_type, target_id, target_name, changes) VALUES `+q.valuesList(len(chunk), ncols), len(chunk) == batchSize, args{vals: vals})
		if err != nil {
			return q.wrap("store.AppendAudit", err)
		}
	}
	return nil
}

// MaxAuditPage caps one page of the audit log.
const MaxAuditPage = 1000

func (q *q) ListAudit(ctx context.Context, f roster.AuditFilter) ([]*roster.AuditEntry, error) {
	a := q.args()
	conds := []string{"seq > " + a.add(f.After)}
	if f.ActorID != 0 {
		conds = append(conds, "actor_id = "+a.add(f.ActorID))
	}
	if f.TargetType != "" {
		conds = append(conds, "target_type = "+a.add(f.TargetType))
	}
	if f.TargetID != 0 {
		conds = append(conds, "target_id = "+a.add(f.TargetID))
	}
	if f.Action != "" {
		conds = append(conds, "action = "+a.add(f.Action))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "at >= "+a.add(dbTime(f.Since)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "at < "+a.add(dbTime(f.Until)))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxAuditPage {
		limit = MaxAuditPage
	}
	query := `SELECT seq, at, actor_id, actor_name, key_id, via, request_id, client_ip, action, target_type, target_id,
		target_name, changes FROM audit_log WHERE ` + strings.Join(conds, " AND ") + " ORDER BY seq LIMIT " + strconv.Itoa(limit)
	rows, err := q.r.QueryContext(ctx, query, a.vals...)
	if err != nil {
		return nil, q.wrap("store.ListAudit", err)
	}
	defer rows.Close()
	var out []*roster.AuditEntry
	for rows.Next() {
		var e roster.AuditEntry
		var changes []byte
		if err := rows.Scan(&e.Seq, &e.At, &e.ActorID, &e.ActorName, &e.KeyID, &e.Via, &e.RequestID, &e.ClientIP,
			&e.Action, &e.TargetType, &e.TargetID, &e.TargetName, &changes); err != nil {
			return nil, q.wrap("store.ListAudit", err)
		}
		e.At = utc(e.At)
		if len(changes) > 0 {
			if e.Changes, err = roster.UnmarshalChanges(changes); err != nil {
				return nil, roster.Internal("store.ListAudit", err)
			}
		}
		out = append(out, &e)
	}
	return out, q.wrap("store.ListAudit", rows.Err())
}

// appendAuditArrays inserts entries on PostgreSQL as one array per column, unnested:
// thirteen parameters whatever the number of rows, where a VALUES list has thirteen per
// row for the server to parse and bind.
func (q *q) appendAuditArrays(ctx context.Context, first int64, entries []*roster.AuditEntry) error {
	for start := 0; start < len(entries); start += 5000 {
		chunk := entries[start:min(start+5000, len(entries))]
		n := len(chunk)
		seq, actorID, keyID, targetID := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		at := make([]time.Time, n)
		actorName, via, requestID, clientIP, action, targetType, targetName, changes := make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, e := range chunk {
			e.Seq = first + int64(start+i)
			e.At = dbTime(e.At)
			enc := e.EncodedChanges
			if enc == nil {
				var err error
				if enc, err = roster.MarshalChanges(e.Changes); err != nil {
					return roster.Internal("store.AppendAudit", err)
				}
			}
			seq[i], at[i], actorID[i], actorName[i], keyID[i], via[i], requestID[i], clientIP[i], action[i], targetType[i],
				targetID[i], targetName[i], changes[i] = e.Seq, e.At, e.ActorID, e.ActorName, e.KeyID, e.Via, e.RequestID,
				e.ClientIP, e.Action, e.TargetType, e.TargetID, e.TargetName, string(enc)
		}
		_, err := q.w.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor_id, actor_name, key_id, via, request_id, client_ip,
			action, target_type, target_id, target_name, changes)
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::jsonb[])`,
			seq, at, actorID, actorName, keyID, via, requestID, clientIP, action, targetType, targetID, targetName, changes)
		if err != nil {
			return q.wrap("store.AppendAudit", err)
		}
	}
	return nil
}

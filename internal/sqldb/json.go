package sqldb

// JSONText returns an expression that reads the JSON column col as JSON
// text: River keeps JSON columns (river_job.args) as SQLite's binary JSONB
// on SQLite, and as jsonb on PostgreSQL.
func (d Dialect) JSONText(col string) string {
	if d.Engine == Postgres {
		return "CAST(" + col + " AS TEXT)"
	}
	return "json(" + col + ")"
}

// JSONParam returns the placeholder expression that stores a JSON text
// parameter into a JSON column the way River does.
func (d Dialect) JSONParam() string {
	if d.Engine == Postgres {
		return "CAST(? AS jsonb)"
	}
	return "jsonb(?)"
}

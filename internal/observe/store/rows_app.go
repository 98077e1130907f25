package store

import "time"

// The workspace-based Application Insights tables (Azure Monitor's table reference,
// azure-monitor-ref/tables/app*), filled from OTLP spans and logs by observe/otlp.
// Azure's tables also have the client's geography, IKey, _BilledSize and the like,
// which no OTLP sender fills; they are left out rather than kept empty.

// AppContext are the columns every Application Insights table ends with: where the
// item sits in its trace and which application sent it. Embedded in a row struct, its
// fields are that table's columns, in this order.
type AppContext struct {
	OperationID         string `kql:"OperationId"`
	OperationName       string
	ParentID            string `kql:"ParentId"`
	SessionID           string `kql:"SessionId"`
	UserID              string `kql:"UserId"`
	UserAuthenticatedID string `kql:"UserAuthenticatedId"`
	ClientIP            string
	SyntheticSource     string
	AppRoleName         string
	AppRoleInstance     string
	AppVersion          string
	SDKVersion          string
	ItemCount           int32
	Properties          any
	Measurements        any
}

// AppRequestsRow is a row of AppRequests: a server or consumer span; TimeGenerated is
// when the request started.
type AppRequestsRow struct {
	TimeGenerated time.Time
	ID            string `kql:"Id"`
	Source        string
	Name          string
	URL           string `kql:"Url"`
	Success       bool
	ResultCode    string
	DurationMs    float64
	AppContext
}

// AppDependenciesRow is a row of AppDependencies: a client, producer or internal span.
type AppDependenciesRow struct {
	TimeGenerated  time.Time
	ID             string `kql:"Id"`
	Target         string
	DependencyType string
	Name           string
	Data           string
	Success        bool
	ResultCode     string
	DurationMs     float64
	AppContext
}

// AppExceptionsRow is a row of AppExceptions: a span event named "exception" or an
// error log record.
type AppExceptionsRow struct {
	TimeGenerated     time.Time
	ProblemID         string `kql:"ProblemId"`
	HandledAt         string
	ExceptionType     string
	Message           string
	Assembly          string
	Method            string
	OuterType         string
	OuterMessage      string
	OuterAssembly     string
	OuterMethod       string
	InnermostType     string
	InnermostMessage  string
	InnermostAssembly string
	InnermostMethod   string
	SeverityLevel     int32
	Details           any
	AppContext
}

// AppTracesRow is a row of AppTraces: an OTLP log record, or a span event other than
// an exception.
type AppTracesRow struct {
	TimeGenerated time.Time
	Message       string
	SeverityLevel int32
	AppContext
}

// TugboatOperationsRow is a row of TugboatOperations: the time range of one
// operation's rows in one append of the Application Insights tables, written
// before those rows. Trace ids are random, so the rows of one trace lie in
// every block of OperationId's values and a lookup by OperationId alone reads
// the whole column; TimeGenerated follows arrival, so a lookup that knows
// the range reads only the blocks (DuckDB's row groups, ClickHouse's parts)
// that hold it. `tugboat trace` reads the range here first.
//
// TimeGenerated is the latest TimeGenerated of those rows, so that retention
// removes this row only once all of them are gone.
type TugboatOperationsRow struct {
	TimeGenerated time.Time
	OperationID   string `kql:"OperationId"`
	// StartTime is the earliest TimeGenerated of those rows.
	StartTime time.Time
}

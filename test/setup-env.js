// Handler logs (Powertools) are for CloudWatch, not for test output.
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL || 'SILENT';
// So are their EMF metric lines (stdout); a test that asserts them switches them back on.
process.env.POWERTOOLS_METRICS_DISABLED = process.env.POWERTOOLS_METRICS_DISABLED || 'true';

// Handler logs (Powertools) are for CloudWatch, not for test output.
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL || 'SILENT';

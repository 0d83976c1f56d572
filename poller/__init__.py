"""The poller: jobs queue -> Step Functions executions (with backpressure); status queue ->
database -> SendTaskSuccess; and the sweeper that re-drives stuck videos. `vidpipe poller` runs it
as its own process (an ECS service in the cloud); `vidpipe up` runs it beside the API."""

"""Which service owns which path, read from the CloudFront distribution in infra/edge.yaml.

On AWS, CloudFront routes each request by the first cache behaviour whose PathPattern matches;
locally the gateway routes by the same list, so the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

from clientela_local import cfn

DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"


def load_routes(edge_template: Path | str) -> list[tuple[str, str]]:
    """The (path pattern, service) pairs of the distribution's cache behaviours, in order.

    A behaviour's TargetOriginId is the name of the service whose API is its origin. The default
    behaviour (the docs bucket) is not a route to a service and is left out.
    """
    resources = cfn.load(edge_template).get("Resources", {})
    distributions = [res for res in resources.values() if res.get("Type") == DISTRIBUTION_TYPE]
    if len(distributions) != 1:
        raise ValueError(f"{edge_template}: expected one {DISTRIBUTION_TYPE}")
    config = distributions[0]["Properties"]["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    routes = []
    for behaviour in config.get("CacheBehaviors", []):
        pattern, service = behaviour["PathPattern"], behaviour["TargetOriginId"]
        if service not in origins:
            raise ValueError(f"{edge_template}: {pattern} targets unknown origin {service}")
        if "S3OriginConfig" in origins[service]:
            continue  # files (the console), which the local gateway serves itself
        routes.append((pattern, service))
    return routes

"""The public-service window (一窗综办): catalogue, cases, ratings (好差评) and enterprise calls (企业吹哨)."""

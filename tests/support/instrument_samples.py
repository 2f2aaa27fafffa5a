"""Venue instrument-list answers in each venue's documented shape (fields trimmed), with what the parser must
make of them: (path, answer, expected [(symbol, quote, kind, trading)])."""
from __future__ import annotations

_BINANCE_ROW = {"baseAssetPrecision": 8, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": True, "ocoAllowed": True,
                "isMarginTradingAllowed": True, "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0.01"}],
                "permissions": [], "permissionSets": [["SPOT", "MARGIN"]], "defaultSelfTradePreventionMode": "NONE"}

SAMPLES = {
    "binance": ("/api/v3/exchangeInfo", {
        "timezone": "UTC", "serverTime": 1565246363776, "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
        "exchangeFilters": [], "symbols": [
            {"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC",
             "isSpotTradingAllowed": True, **_BINANCE_ROW},
            {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
             "isSpotTradingAllowed": True, **_BINANCE_ROW},
            {"symbol": "LUNAUSDT", "status": "BREAK", "baseAsset": "LUNA", "quoteAsset": "USDT",
             "isSpotTradingAllowed": True, **_BINANCE_ROW},
            {"symbol": "MARGINONLYUSDC", "status": "TRADING", "baseAsset": "MARGINONLY", "quoteAsset": "USDC",
             "isSpotTradingAllowed": False, **_BINANCE_ROW}]},
        [("ETHBTC", "BTC", "spot", True), ("BTCUSDT", "USDT", "spot", True), ("LUNAUSDT", "USDT", "spot", False)]),
    "okx": ("/api/v5/public/instruments?instType=SWAP", {"code": "0", "msg": "", "data": [
        {"alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "linear", "ctVal": "0.01",
         "ctValCcy": "BTC", "expTime": "", "instFamily": "BTC-USDT", "instId": "BTC-USDT-SWAP", "instType": "SWAP",
         "lever": "100", "listTime": "1573557408000", "lotSz": "0.01", "maxLmtSz": "100000000", "minSz": "0.01",
         "quoteCcy": "", "settleCcy": "USDT", "state": "live", "stk": "", "tickSz": "0.1", "uly": "BTC-USDT"},
        {"baseCcy": "", "ctValCcy": "USD", "instId": "BTC-USD-SWAP", "instType": "SWAP", "quoteCcy": "",
         "settleCcy": "BTC", "state": "suspend", "uly": "BTC-USD"}]},
        [("BTC-USDT-SWAP", "USDT", "perpetual", True), ("BTC-USD-SWAP", "USD", "perpetual", False)]),
    "coinbase": ("/products", [
        {"id": "BTC-USD", "base_currency": "BTC", "quote_currency": "USD", "quote_increment": "0.01",
         "base_increment": "0.00000001", "display_name": "BTC/USD", "min_market_funds": "1", "margin_enabled": False,
         "post_only": False, "limit_only": False, "cancel_only": False, "status": "online", "status_message": "",
         "trading_disabled": False, "fx_stablecoin": False, "max_slippage_percentage": "0.02000000",
         "auction_mode": False, "high_bid_limit_percentage": ""},
        {"id": "ETH-EUR", "base_currency": "ETH", "quote_currency": "EUR", "status": "online",
         "trading_disabled": False},
        {"id": "OLD-USD", "base_currency": "OLD", "quote_currency": "USD", "status": "delisted",
         "trading_disabled": True}],
        [("BTC-USD", "USD", "spot", True), ("ETH-EUR", "EUR", "spot", True), ("OLD-USD", "USD", "spot", False)]),
    "kraken": ("/0/public/AssetPairs", {"error": [], "result": {
        "XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency", "base": "XXBT",
                     "aclass_quote": "currency", "quote": "ZUSD", "lot": "unit", "cost_decimals": 5,
                     "pair_decimals": 1, "lot_decimals": 8, "lot_multiplier": 1, "leverage_buy": [2, 3],
                     "fees": [[0, 0.4]], "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40,
                     "ordermin": "0.0001", "costmin": "0.5", "tick_size": "0.1", "status": "online"},
        "XDGUSD": {"altname": "XDGUSD", "wsname": "XDG/USD", "base": "XXDG", "quote": "ZUSD", "status": "online"},
        "ETHUSDT": {"altname": "ETHUSDT", "wsname": "ETH/USDT", "base": "XETH", "quote": "USDT",
                    "status": "cancel_only"}}},
        [("BTC/USD", "USD", "spot", True), ("DOGE/USD", "USD", "spot", True), ("ETH/USDT", "USDT", "spot", False)]),
    "bybit": ("/v5/market/instruments-info?category=spot", {"retCode": 0, "retMsg": "OK", "result": {
        "category": "spot", "list": [
            {"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "innovation": "0", "status": "Trading",
             "marginTrading": "both", "stTag": "0", "lotSizeFilter": {"basePrecision": "0.000001"},
             "priceFilter": {"tickSize": "0.01"}, "riskParameters": {"priceLimitRatioX": "0.01"}},
            {"symbol": "NEWUSDC", "baseCoin": "NEW", "quoteCoin": "USDC", "status": "PreLaunch"}]},
        "retExtInfo": {}, "time": 1672712468011},
        [("BTCUSDT", "USDT", "spot", True), ("NEWUSDC", "USDC", "spot", False)]),
    "bitfinex": ("/v2/conf/pub:list:pair:exchange", [["BTCUSD", "BTCUST", "ETHBTC", "TESTBTC:TESTUSD", "AVAX:USD"]],
                 [("tBTCUSD", "USD", "spot", True), ("tBTCUST", "USDT", "spot", True), ("tETHBTC", "BTC", "spot", True),
                  ("tTESTBTC:TESTUSD", "TESTUSD", "spot", True), ("tAVAX:USD", "USD", "spot", True)]),
    "bitstamp": ("/api/v2/trading-pairs-info/", [
        {"name": "BTC/USD", "url_symbol": "btcusd", "base_decimals": 8, "counter_decimals": 0,
         "instant_order_counter_decimals": 2, "minimum_order": "10 USD", "trading": "Enabled",
         "instant_and_market_orders": "Enabled", "description": "Bitcoin / U.S. dollar"},
        {"name": "XRP/EUR", "url_symbol": "xrpeur", "trading": "Disabled", "description": "XRP / Euro"}],
        [("btcusd", "USD", "spot", True), ("xrpeur", "EUR", "spot", False)]),
    "gemini": ("/v1/symbols", ["btcusd", "ethbtc", "btcgusdperp", "ethrlusd", "dogeusdt"],
               [("btcusd", "USD", "spot", True), ("ethbtc", "BTC", "spot", True),
                ("btcgusdperp", "GUSD", "perpetual", True), ("ethrlusd", "RLUSD", "spot", True),
                ("dogeusdt", "USDT", "spot", True)]),
    "deribit": ("/api/v2/public/get_instruments?currency=any&expired=false", {"jsonrpc": "2.0", "result": [
        {"tick_size": 0.5, "taker_commission": 0.0005, "settlement_period": "perpetual",
         "settlement_currency": "BTC", "quote_currency": "USD", "price_index": "btc_usd", "min_trade_amount": 10,
         "max_leverage": 50, "maker_commission": 0, "kind": "future", "is_active": True,
         "instrument_name": "BTC-PERPETUAL", "instrument_id": 124972, "expiration_timestamp": 32503708800000,
         "creation_timestamp": 1534242287000, "counter_currency": "USD", "contract_size": 10,
         "block_trade_commission": 0.00025, "base_currency": "BTC", "instrument_type": "reversed"},
        {"settlement_period": "month", "quote_currency": "USD", "kind": "future", "is_active": True,
         "instrument_name": "BTC-27MAR26", "base_currency": "BTC"},
        {"settlement_period": "day", "quote_currency": "BTC", "kind": "option", "is_active": True,
         "instrument_name": "BTC-1DEC26-90000-C", "base_currency": "BTC"},
        {"quote_currency": "USDC", "kind": "spot", "is_active": True, "instrument_name": "ETH_USDC"},
        {"quote_currency": "USD", "kind": "future_combo", "is_active": True, "instrument_name": "BTC-FS-27MAR26_PERP"}],
        "usIn": 1535043730126248, "usOut": 1535043730126250, "usDiff": 2, "testnet": False},
        [("BTC-PERPETUAL", "USD", "perpetual", True), ("BTC-27MAR26", "USD", "future", True),
         ("BTC-1DEC26-90000-C", "BTC", "option", True), ("ETH_USDC", "USDC", "spot", True)]),
    "bitmex": ("/api/v1/instrument/active", [
        {"symbol": "XBTUSD", "rootSymbol": "XBT", "state": "Open", "typ": "FFWCSX", "listing": "2016-05-13T12:00:00.000Z",
         "expiry": None, "underlying": "XBT", "quoteCurrency": "USD", "settlCurrency": "XBt", "tickSize": 0.5},
        {"symbol": "XBTZ26", "state": "Open", "typ": "FFCCSX", "quoteCurrency": "USD"},
        {"symbol": "XBT_USDT", "state": "Open", "typ": "IFXXXP", "quoteCurrency": "USDT"},
        {"symbol": ".BXBT", "state": "Unlisted", "typ": "MRCXXX", "quoteCurrency": "USD"},
        {"symbol": "ETHUSD", "state": "Closed", "typ": "FFWCSX", "quoteCurrency": "USD"}],
        [("XBTUSD", "USD", "perpetual", True), ("XBTZ26", "USD", "future", True), ("XBT_USDT", "USDT", "spot", True),
         ("ETHUSD", "USD", "perpetual", False)]),
}
